// Command e2bemu runs the E2B stand-in on this machine: the control plane
// on -api (default localhost:3000) and E2B's proxy to each sandbox's envd
// on -envd (default localhost:49983), the addresses the official SDKs use
// with E2B_DEBUG=true. Each sandbox is a local sandbox (bubblewrap + Xvfb)
// running E2B's real envd, which it builds from third_party/e2b-infra at
// start (a Go toolchain and this repository are needed). It is for tests:
// it listens on loopback only and kills every sandbox when it gets SIGINT
// or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/backend/e2b/e2btest"
)

func main() {
	api := flag.String("api", "127.0.0.1:3000", "control-plane listen address")
	envd := flag.String("envd", "127.0.0.1:49983", "envd listen address")
	key := flag.String("key", "", "the only API key accepted (default: any non-empty key; also E2BEMU_API_KEY)")
	debug := flag.Bool("debug", true, "serve envd calls for unknown sandbox ids (the SDKs' debug mode) from one sandbox")
	flag.Parse()
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly}).With().Timestamp().Logger()
	if *key == "" {
		*key = os.Getenv("E2BEMU_API_KEY")
	}

	lp, bins, err := e2btest.Local(log)
	if err != nil {
		log.Fatal().Err(err).Msg("local backend or envd unavailable")
	}
	srv := e2btest.New(e2btest.Options{APIKey: *key, Debug: *debug, NewMachine: e2btest.LocalFactory(lp, log),
		EnvdVersion: bins.Version, Log: log})
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	var lns []net.Listener
	for _, addr := range []string{*api, *envd} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			log.Fatal().Err(err).Str("addr", addr).Msg("cannot listen")
		}
		lns = append(lns, ln)
	}
	for _, ln := range lns {
		go func() {
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("serve")
			}
		}()
	}
	log.Info().Str("api", *api).Str("envd", *envd).Msg("e2bemu ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	log.Info().Msg("e2bemu stopping")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
	_ = srv.Close()
	_ = lp.Close()
}
