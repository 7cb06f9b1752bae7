// Command vmservice is an MCP server that gives AI agents isolated Linux
// desktops: stdio by default, SSE and streamable HTTP on request.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/internal/buildinfo"
	"github.com/vmservice/vmservice/internal/wiring"
	"github.com/vmservice/vmservice/mcpserver"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
	"github.com/vmservice/vmservice/tools"
)

const defaultStreamListen = "127.0.0.1:6080"

// config is everything the flags and VMSERVICE_* variables set.
type config struct {
	Backend              string
	Shared               bool
	Transport            string
	Listen               string
	TokensFile           string
	AllowUnauthenticated bool
	StdioUser            string
	StdioAdmin           bool
	MaxSandboxes         int
	MaxPerUser           int
	DefaultTimeout       time.Duration
	MaxTimeout           time.Duration
	DefaultTemplate      string
	DefaultCPU           int
	DefaultMemoryMB      int
	WarmPool             int
	WarmPoolClasses      string
	Toolsets             string
	ReadOnly             bool
	ComputerSize         string
	SessionIdle          time.Duration
	RateLimit            float64
	RateBurst            int
	StreamListen         string
	StreamPublicURL      string
	NoStream             bool
	LogLevel             string
	LogFormat            string
	LogFile              string
	Local                local.Options // --local-*: where the local backend keeps its slots
}

// seconds is a duration flag that also takes plain seconds ("300").
type seconds struct{ d *time.Duration }

func (s seconds) String() string {
	if s.d == nil {
		return ""
	}
	return s.d.String()
}

func (s seconds) Set(v string) error {
	if n, err := strconv.Atoi(v); err == nil {
		*s.d = time.Duration(n) * time.Second
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("want seconds (300) or a duration (5m)")
	}
	*s.d = d
	return nil
}

// envName is the variable that sets a flag: --max-sandboxes -> VMSERVICE_MAX_SANDBOXES.
func envName(flagName string) string {
	return "VMSERVICE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	c := config{}
	fs := flag.NewFlagSet("vmservice", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Backend, "backend", "local", "sandbox backend: local (this machine) or e2b (E2B cloud; E2B_API_KEY and friends from the environment)")
	fs.BoolVar(&c.Shared, "shared", false, "e2b backend: this server is one replica of a deployment (VMSERVICE_E2B_SERVER_ID) sharing its sandboxes with the others: owners, lookups and quotas come from E2B, and sandboxes outlive the server (their timeout ends them)")
	fs.StringVar(&c.Transport, "transport", "stdio", "MCP transport: stdio, sse or http (sse and http share one listener serving /mcp, /sse and /message)")
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "HTTP listen address for --transport sse|http (also /healthz and /metrics)")
	fs.StringVar(&c.TokensFile, "tokens-file", "", "bearer tokens for HTTP/SSE: lines `token principal [admin]` or a JSON array; VMSERVICE_TOKENS may hold the same text")
	fs.BoolVar(&c.AllowUnauthenticated, "allow-unauthenticated", false, "serve HTTP requests without a token as --stdio-user (only on a loopback --listen address)")
	fs.StringVar(&c.StdioUser, "stdio-user", "local", "principal (user id) of the stdio client and of unauthenticated loopback HTTP")
	fs.BoolVar(&c.StdioAdmin, "stdio-admin", false, "the stdio principal is an administrator (may act for other users)")
	fs.IntVar(&c.MaxSandboxes, "max-sandboxes", 10, "maximum concurrent sandboxes (all users)")
	fs.IntVar(&c.MaxPerUser, "max-sandboxes-per-user", 0, "maximum concurrent sandboxes per user (0 = same as --max-sandboxes)")
	c.DefaultTimeout, c.MaxTimeout = 300*time.Second, sandbox.MaxTimeout
	fs.Var(seconds{&c.DefaultTimeout}, "default-timeout", "sandbox lifetime when create_sandbox gives none (seconds or duration)")
	fs.Var(seconds{&c.MaxTimeout}, "max-timeout", "longest lifetime a sandbox may be given (seconds or duration)")
	fs.StringVar(&c.DefaultTemplate, "default-template", sandbox.DefaultTemplate, "template when create_sandbox gives none")
	fs.IntVar(&c.DefaultCPU, "default-cpu", 2, "CPU cores when create_sandbox gives none (1-8)")
	fs.IntVar(&c.DefaultMemoryMB, "default-memory-mb", 2048, "memory limit in MiB when create_sandbox gives none (512-8192)")
	fs.IntVar(&c.WarmPool, "warm-pool", 0, "desktops (default template and resolution) kept booted for instant create_sandbox (0 = none); warm desktops count toward --max-sandboxes and only fill its headroom")
	fs.StringVar(&c.WarmPoolClasses, "warm-pool-classes", "", "more warm desktops per template / resolution: comma-separated WxH=N or TEMPLATE@WxH=N (e.g. 1920x1080=2)")
	fs.StringVar(&c.Toolsets, "toolsets", "default", "comma-separated toolsets: "+strings.Join(tools.AllToolsets, ",")+"; default = "+strings.Join(tools.DefaultToolsets, ",")+" (computer drives the desktop), all = every one (admin tools are listed only to admin principals)")
	fs.BoolVar(&c.ReadOnly, "read-only", false, "expose only tools that change nothing (screenshots, info, reading files)")
	fs.StringVar(&c.ComputerSize, "computer-size", "1024x768", "screen size the computer tool advertises (screenshots scaled to it, coordinates mapped back)")
	c.SessionIdle = 30 * time.Minute
	fs.Var(seconds{&c.SessionIdle}, "session-idle-timeout", "end session-based HTTP sessions (and destroy their sandboxes) after this long without a request; 0 = never")
	fs.Float64Var(&c.RateLimit, "rate-limit", 50, "HTTP requests per second per principal (token bucket; 429 + Retry-After beyond it); 0 = no limit")
	fs.IntVar(&c.RateBurst, "rate-burst", 0, "requests a principal may send at once above --rate-limit (0 = max(10, 2 x rate))")
	fs.StringVar(&c.StreamListen, "stream-listen", defaultStreamListen, "listen address of the live-stream (noVNC) service; when the default is taken, a free loopback port")
	fs.StringVar(&c.StreamPublicURL, "stream-public-url", "", "base URL put in stream_url (default http://<stream-listen>)")
	fs.BoolVar(&c.NoStream, "no-stream", false, "do not start the live-stream service (start_stream answers BACKEND_UNAVAILABLE)")
	// Several servers on one machine need disjoint local slots: their own
	// uids, displays, slot locks, state and cgroups.
	fs.StringVar(&c.Local.StateDir, "local-state-dir", "", "local backend: state directory (default /run/vmservice/local)")
	fs.StringVar(&c.Local.LockDir, "local-lock-dir", "", "local backend: machine-wide slot locks, shared by servers using the same uid range (default /run/vmservice-local-slots)")
	fs.IntVar(&c.Local.UIDBase, "local-uid-base", 0, "local backend: first sandbox uid; slot N runs as base+N (default 200000)")
	fs.IntVar(&c.Local.DisplayBase, "local-display-base", 0, "local backend: first X display number (default 100)")
	fs.IntVar(&c.Local.MaxSlots, "local-max-slots", 0, "local backend: sandboxes that may exist on the machine in this range (default 1000)")
	fs.StringVar(&c.Local.CgroupParent, "local-cgroup-parent", "", "local backend: cgroup under which sandbox cgroups are made (default vmservice)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "console", "log format: console or json")
	fs.StringVar(&c.LogFile, "log-file", "", "append logs to this file instead of stderr")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "vmservice %s: an MCP server giving AI agents isolated Linux desktops\n\nUsage: vmservice [flags]\n\n", buildinfo.Version)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  --%s (env %s, default %q)\n      %s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
		})
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *showVersion {
		// The one line a script reads: on stdout, as tools print versions.
		fmt.Println(buildinfo.String())
		return c, flag.ErrHelp
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	// Every flag not given on the command line may come from VMSERVICE_*.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "version" {
			return
		}
		if v := getenv(envName(f.Name)); v != "" && !given[f.Name] && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.Backend != "local" && c.Backend != "e2b":
		return fmt.Errorf("--backend must be local or e2b, got %q", c.Backend)
	case c.Shared && c.Backend != "e2b":
		return fmt.Errorf("--shared needs --backend e2b (sandboxes another server can find)")
	case c.Shared && (c.WarmPool > 0 || c.WarmPoolClasses != ""):
		return fmt.Errorf("--shared and --warm-pool do not go together: a warm desktop is one server's")
	case c.Transport != "stdio" && c.Transport != "sse" && c.Transport != "http":
		return fmt.Errorf("--transport must be stdio, sse or http, got %q", c.Transport)
	case !auth.ValidPrincipal(c.StdioUser):
		return fmt.Errorf("--stdio-user %q is not a valid user id (letters, digits, . _ @ : -)", c.StdioUser)
	case c.MaxSandboxes < 1:
		return fmt.Errorf("--max-sandboxes (max_concurrent_sandboxes) must be >= 1, got %d", c.MaxSandboxes)
	case c.MaxPerUser < 0:
		return fmt.Errorf("--max-sandboxes-per-user must be >= 0 (0 = same as --max-sandboxes), got %d", c.MaxPerUser)
	case c.WarmPool < 0 || c.WarmPool > 64:
		return fmt.Errorf("--warm-pool must be between 0 and 64, got %d", c.WarmPool)
	case c.RateLimit < 0 || c.RateBurst < 0:
		return fmt.Errorf("--rate-limit and --rate-burst must not be negative")
	case c.SessionIdle < 0:
		return fmt.Errorf("--session-idle-timeout must not be negative")
	}
	if _, err := sandbox.ParsePoolClasses(c.WarmPoolClasses, c.DefaultTemplate); err != nil {
		return fmt.Errorf("--warm-pool-classes: %s", sandbox.AsError(err).Message)
	}
	if _, err := tools.ParseToolsets(c.Toolsets); err != nil {
		return fmt.Errorf("--toolsets: %v", err)
	}
	r, err := sandbox.ParseResolution("computer-size", c.ComputerSize)
	if err != nil || r.Width < 320 || r.Height < 240 || r.Width > sandbox.MaxWidth || r.Height > sandbox.MaxHeight {
		return fmt.Errorf("--computer-size must be WIDTHxHEIGHT between 320x240 and %dx%d, got %q", sandbox.MaxWidth, sandbox.MaxHeight, c.ComputerSize)
	}
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil || c.LogLevel == "" {
		return fmt.Errorf("--log-level must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.LogFormat != "console" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be console or json, got %q", c.LogFormat)
	}
	if _, err := c.settings().Normalize(); err != nil {
		return fmt.Errorf("invalid sandbox settings: %v", sandbox.AsError(err).Message)
	}
	if c.Transport != "stdio" {
		host, _, err := net.SplitHostPort(c.Listen)
		if err != nil {
			return fmt.Errorf("--listen must be host:port, got %q", c.Listen)
		}
		if c.AllowUnauthenticated && !isLoopback(host) {
			return fmt.Errorf("--allow-unauthenticated is only allowed on a loopback --listen address (127.0.0.1, ::1, localhost), not %q", c.Listen)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c config) settings() sandbox.Settings {
	return sandbox.Settings{MaxConcurrentSandboxes: c.MaxSandboxes, MaxSandboxesPerUser: c.MaxPerUser,
		DefaultTemplate: c.DefaultTemplate, DefaultTimeout: c.DefaultTimeout, DefaultCPU: c.DefaultCPU,
		DefaultMemoryMB: c.DefaultMemoryMB, MaxTimeout: c.MaxTimeout, Shared: c.Shared}
}

func newLogger(c config, w io.Writer) zerolog.Logger {
	lvl, _ := zerolog.ParseLevel(c.LogLevel)
	if c.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: true}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func main() {
	c, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmservice: %v\n", err)
		os.Exit(2)
	}
	// A closed stdout/stderr (the stdio client went away) must not kill the
	// process before it has destroyed its sandboxes: with SIGPIPE notified,
	// such writes just fail.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	// Logs go to stderr only: stdout is the stdio transport.
	var logw io.Writer = os.Stderr
	if c.LogFile != "" {
		f, err := os.OpenFile(c.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vmservice: --log-file: %v\n", err)
			os.Exit(2)
		}
		defer f.Close()
		logw = f
	}
	log := newLogger(c, logw)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, log, os.Stdin, os.Stdout); err != nil {
		log.Error().Msg(err.Error())
		os.Exit(1)
	}
}

// run serves until ctx ends (SIGINT/SIGTERM) or the stdio client leaves,
// then destroys every sandbox.
func run(ctx context.Context, c config, log zerolog.Logger, stdin io.Reader, stdout io.Writer) error {
	tokens, err := loadTokens(c)
	if err != nil {
		return err
	}
	if c.Transport != "stdio" && tokens.Len() == 0 && !c.AllowUnauthenticated {
		return fmt.Errorf("--transport %s needs bearer tokens (--tokens-file or VMSERVICE_TOKENS), or --allow-unauthenticated on a loopback address", c.Transport)
	}
	classes, _ := sandbox.ParsePoolClasses(c.WarmPoolClasses, c.DefaultTemplate) // validated
	computer, _ := sandbox.ParseResolution("computer-size", c.ComputerSize)
	toolsets, _ := tools.ParseToolsets(c.Toolsets)
	o := wiring.Options{Backend: c.Backend, Local: c.Local, Settings: c.settings(),
		Pool:     sandbox.PoolOptions{Size: c.WarmPool, Classes: classes},
		NoStream: c.NoStream, Stream: stream.Config{Listen: c.StreamListen, PublicURL: c.StreamPublicURL},
		// When the default port is taken (a second stdio server, say), a
		// free loopback port.
		StreamFallback: c.StreamListen == defaultStreamListen && c.StreamPublicURL == "",
		Tools:          tools.Options{ComputerSize: computer},
		Server: mcpserver.Config{Toolsets: toolsets, ReadOnly: c.ReadOnly,
			StdioPrincipal: auth.Principal{ID: c.StdioUser, Admin: c.StdioAdmin}, Tokens: tokens,
			SessionIdleTimeout: c.SessionIdle, RateLimit: mcpserver.RateLimit{PerSecond: c.RateLimit, Burst: c.RateBurst}, Version: buildinfo.Version},
		Log: log}
	if c.AllowUnauthenticated {
		o.Server.Anonymous = auth.Principal{ID: c.StdioUser, Admin: c.StdioAdmin}
	}
	srv, err := wiring.Build(o)
	if err != nil {
		return err
	}
	defer func() {
		// Close destroys every sandbox, then the backend.
		if err := srv.Close(); err != nil {
			log.Warn().Err(err).Msg("closing the backend")
		}
	}()
	log.Info().Str("backend", srv.Backend.Name()).Str("transport", c.Transport).Strs("toolsets", toolsets).
		Bool("read_only", c.ReadOnly).Int("max_sandboxes", srv.Manager.Settings().MaxConcurrentSandboxes).Msg("vmservice starting")

	if c.Transport == "stdio" {
		err := srv.MCP.ServeStdio(ctx, stdin, stdout)
		log.Info().Msg("stdio client gone; shutting down")
		return err
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %v", c.Listen, err)
	}
	h := srv.ServeHTTP(ln)
	log.Info().Str("listen", ln.Addr().String()).Msg("serving MCP over HTTP: /mcp (streamable HTTP), /sse + /message (SSE), /healthz, /metrics")
	select {
	case <-ctx.Done():
	case err := <-h.Err:
		return fmt.Errorf("http server: %v", err)
	}
	log.Info().Msg("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	h.Shutdown(sctx)
	return nil
}

func loadTokens(c config) (*auth.Tokens, error) {
	var t *auth.Tokens
	if c.TokensFile != "" {
		ft, err := auth.LoadTokens(c.TokensFile)
		if err != nil {
			return nil, err
		}
		t = ft
	}
	if env := os.Getenv("VMSERVICE_TOKENS"); env != "" {
		et, err := auth.ParseTokens(strings.NewReader(strings.ReplaceAll(env, ";", "\n")))
		if err != nil {
			return nil, fmt.Errorf("VMSERVICE_TOKENS: %v", err)
		}
		t = t.Merge(et)
	}
	return t, nil
}
