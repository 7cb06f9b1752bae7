// Package wiring builds one vmservice server from its parts, in the order
// they depend on each other: the backend (and its warm pool), the sandbox
// Manager, the live-stream service (a sandbox's stream stops when it is
// destroyed), the toolbox, the MCP server. The binary (main.go) and the
// test harness (internal/mcptest) both build through Build, so what the
// tests run is what ships.
package wiring

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/backend/e2b"
	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/mcpserver"
	"github.com/vmservice/vmservice/recording"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
	"github.com/vmservice/vmservice/tools"
)

// Options say what to build.
type Options struct {
	// Backend is "local" (default) or "e2b" (configured from the
	// environment: e2b.OptionsFromEnv).
	Backend string
	// Local are the local backend's slots; its Log is set here.
	Local local.Options
	// Pool keeps desktops booted (none when Size is 0 and there are no
	// Classes); its template, base config and log are set here.
	Pool     sandbox.PoolOptions
	Settings sandbox.Settings
	// NoStream builds no live-stream service (start_stream then answers
	// BACKEND_UNAVAILABLE); otherwise Stream configures it. With
	// StreamFallback a taken Stream.Listen gives way to a free loopback
	// port.
	NoStream       bool
	Stream         stream.Config
	StreamFallback bool
	// Tools and Server configure the toolbox and the MCP server; their
	// Manager, Streams and Log are set here.
	Tools  tools.Options
	Server mcpserver.Config
	Log    zerolog.Logger
}

// Server is a built server.
type Server struct {
	Backend sandbox.Provider // the backend itself (under the pool, if any)
	Manager *sandbox.Manager
	Streams *stream.Service // nil without live streaming
	// Recordings records screens and trajectories (recording tools).
	Recordings *recording.Service
	Tools      *tools.Toolbox
	MCP        *mcpserver.Server

	stopStreams func()
}

// Build builds and starts a server; Close ends it. On error nothing is
// left running.
func Build(o Options) (_ *Server, err error) {
	log := o.Log
	s := &Server{}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	cfg := o.Server
	if s.Backend, err = newBackend(o); err != nil {
		// Never die in front of a client: it would only show "server
		// disconnected". The server answers, and every tool call says what
		// is missing and the fix.
		u := sandbox.Unavailable(backendName(o), err)
		cfg.Unavailable = u.BackendError()
		log.Error().Str("error_code", string(sandbox.CodeBackendUnavailable)).Err(err).
			Msg(cfg.Unavailable.Message + " (every tool call answers this until the server is restarted)")
		s.Backend, err = u, nil
	}
	provider := s.Backend
	if cfg.Unavailable == nil && (o.Pool.Size > 0 || len(o.Pool.Classes) > 0) {
		po := o.Pool
		po.Template = o.Settings.DefaultTemplate
		po.Base = sandbox.Config{CPUCount: sandbox.MaxCPU, MemoryMB: sandbox.MaxMemoryMB,
			WorkingDirectory: sandbox.DefaultWorkdir, Timeout: o.Settings.MaxTimeout}
		po.Log = log.With().Str("component", "pool").Logger()
		provider = sandbox.NewPool(provider, po)
	}
	if s.Manager, err = sandbox.NewManager(provider, o.Settings, log.With().Str("component", "manager").Logger()); err != nil {
		_ = provider.Close()
		return nil, err
	}
	if !o.NoStream {
		s.startStreams(o, log.With().Str("component", "stream").Logger())
	}
	s.Recordings = recording.New(log.With().Str("component", "recording").Logger())
	stopStream := s.Manager.OnDestroy
	s.Manager.OnDestroy = func(i sandbox.Info) {
		// A destroyed sandbox's recording died with it: forget it, and its
		// stream.
		s.Recordings.Forget(i.SandboxID)
		if stopStream != nil {
			stopStream(i)
		}
	}
	to := o.Tools
	to.Manager, to.Log, to.Recordings = s.Manager, log.With().Str("component", "tools").Logger(), s.Recordings
	if s.Streams != nil {
		to.Streams = s.Streams
	}
	s.Tools = tools.New(to)
	cfg.Log, cfg.Recordings, cfg.AppOrigins = log.With().Str("component", "mcp").Logger(), s.Recordings, s.appOrigins
	s.MCP = mcpserver.New(cfg, s.Tools)
	return s, nil
}

// appOrigins are where the MCP App may connect: the stream service and the
// backend's own live views (e2b).
func (s *Server) appOrigins() []string {
	var out []string
	if s.Streams != nil {
		out = append(out, s.Streams.BaseURL())
	}
	if b, ok := s.Backend.(interface{ StreamOrigins() []string }); ok {
		out = append(out, b.StreamOrigins()...)
	}
	return out
}

func backendName(o Options) string {
	if o.Backend == "" {
		return "local"
	}
	return o.Backend
}

func newBackend(o Options) (sandbox.Provider, error) {
	log := o.Log.With().Str("backend", backendName(o)).Logger()
	switch backendName(o) {
	case "local":
		lo := o.Local
		lo.Log = log
		return local.New(lo)
	case "e2b":
		eo := e2b.OptionsFromEnv()
		eo.Log, eo.Shared = log, o.Settings.Shared
		p, err := e2b.New(eo)
		if err != nil {
			return nil, err
		}
		// Sandboxes an earlier run of this server left (killed, crashed)
		// still cost money on E2B: find them by label and end them first.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		n, err := p.Cleanup(ctx)
		cancel()
		if err != nil {
			log.Warn().Str("error_code", string(sandbox.CodeOf(err))).Msg("could not clean up sandboxes left by an earlier run")
		} else if n > 0 {
			log.Info().Int("destroyed", n).Msg("cleaned up sandboxes left by an earlier run")
		}
		return p, nil
	}
	return nil, sandbox.InvalidArgument("backend", "unknown backend %q: use local or e2b", o.Backend)
}

// startStreams starts the live-stream service. Without its listener a
// stream URL would point at whatever else holds the port, so there is
// then no service (start_stream answers BACKEND_UNAVAILABLE).
func (s *Server) startStreams(o Options, log zerolog.Logger) {
	addrs := []string{o.Stream.Listen}
	if o.StreamFallback {
		addrs = append(addrs, "127.0.0.1:0")
	}
	ctx, cancel := context.WithCancel(context.Background())
	for _, addr := range addrs {
		cfg := o.Stream
		cfg.Listen, cfg.Log = addr, log
		svc, err := stream.New(cfg)
		if err != nil {
			log.Warn().Err(err).Msg("live streaming disabled")
			break
		}
		errc := make(chan error, 1)
		go func() { errc <- svc.ListenAndServe(ctx) }()
		select {
		case <-svc.Listening():
			go func() {
				if err := <-errc; err != nil && ctx.Err() == nil {
					log.Error().Err(err).Msg("stream service stopped")
				}
			}()
			s.Streams = svc
			s.stopStreams = func() { cancel(); _ = svc.Close() }
			s.Manager.OnDestroy = func(i sandbox.Info) { _ = svc.Stop(context.Background(), i.SandboxID) }
			return
		case err := <-errc:
			_ = svc.Close()
			log.Warn().Err(err).Str("stream_listen", addr).Msg("the stream listener could not start")
		}
	}
	cancel()
	log.Warn().Msg("live streaming disabled (set --stream-listen to a free address)")
}

// Close destroys every sandbox and closes the backend (the Manager's
// error is returned), then stops the stream service: destroying a sandbox
// stops its stream.
func (s *Server) Close() error {
	var err error
	if s.Manager != nil {
		err = s.Manager.Close()
	}
	if s.stopStreams != nil {
		s.stopStreams()
	}
	if s.Recordings != nil {
		s.Recordings.Close()
	}
	return err
}

// HTTP is the MCP server's HTTP face served on a listener.
type HTTP struct {
	URL string       // http://host:port
	Err <-chan error // the serve loop's end (never nil once Shutdown is called)
	h   *mcpserver.HTTP
	hs  *http.Server
}

// ServeHTTP serves /mcp, /sse, /message, /healthz and /metrics on ln.
func (s *Server) ServeHTTP(ln net.Listener) *HTTP {
	h := s.MCP.NewHTTP()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	return &HTTP{URL: "http://" + ln.Addr().String(), Err: errc, h: h, hs: hs}
}

// Shutdown ends the MCP sessions and the listener, waiting for calls in
// flight until ctx ends.
func (h *HTTP) Shutdown(ctx context.Context) {
	h.h.Shutdown(ctx)
	_ = h.hs.Shutdown(ctx)
}
