package e2b

import (
	"context"
	"errors"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/backend/e2b/helperproto"
	"github.com/vmservice/vmservice/backend/e2b/internal/envd"
	"github.com/vmservice/vmservice/backend/e2b/internal/wire"
	"github.com/vmservice/vmservice/sandbox"
)

// Label keys the backend relies on (the Manager sets them).
const (
	LabelSandboxID = sandbox.LabelSandboxID
	LabelOwner     = sandbox.LabelOwner
	// LabelCreatedBy marks every sandbox this backend made, so Cleanup can
	// find them after a restart without touching anyone else's.
	LabelCreatedBy = "vmservice.created_by"
	createdByValue = "vmservice"
	// LabelServer is Options.ServerID: which server made the sandbox.
	LabelServer = "vmservice.server"
)

// Provider is the E2B backend.
type Provider struct {
	opts Options
	api  *apiClient
	log  zerolog.Logger

	mu        sync.Mutex
	instances map[*Instance]struct{}
	// attachMu: one attach at a time (Find), so a sandbox gets one
	// instance (and one helper) per replica.
	attachMu sync.Mutex
}

var _ sandbox.Provider = (*Provider)(nil)

// New returns the E2B backend. It fails without an API key.
func New(opts Options) (*Provider, error) {
	opts = opts.withDefaults()
	if opts.APIKey == "" {
		return nil, sandbox.Errorf(sandbox.CodeAuthenticationFailed, "the e2b backend needs an API key: set E2B_API_KEY")
	}
	return &Provider{opts: opts, log: opts.Log,
		api:       &apiClient{base: opts.APIURL, key: opts.APIKey, hc: opts.HTTPClient, attempts: opts.Attempts},
		instances: map[*Instance]struct{}{}}, nil
}

// StreamOrigins are the origins of the live views the sandboxes serve
// themselves (noVNC on https://6080-ID.DOMAIN, publicURL), for the MCP
// App's CSP: a CSP wildcard covers whole labels only.
func (p *Provider) StreamOrigins() []string { return []string{"https://*." + p.opts.Domain} }

// Name is "e2b".
func (p *Provider) Name() string { return "e2b" }

// Close kills the sandboxes this Provider made that are still alive (the
// Manager normally destroyed them already); in shared mode it only stops
// its helpers: the sandboxes are the deployment's.
func (p *Provider) Close() error {
	p.mu.Lock()
	var ins []*Instance
	for in := range p.instances {
		ins = append(ins, in)
	}
	p.mu.Unlock()
	for _, in := range ins {
		if p.opts.Shared {
			in.closeHelper()
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = in.Destroy(ctx)
		cancel()
	}
	return nil
}

// Create makes an E2B sandbox from cfg.Template, tagged with labels, brings
// its desktop up and starts the input helper. On error the sandbox is killed.
func (p *Provider) Create(ctx context.Context, cfg sandbox.Config, labels map[string]string) (sandbox.Instance, error) {
	meta := map[string]string{LabelCreatedBy: createdByValue, LabelServer: p.opts.ServerID}
	for k, v := range labels {
		meta[k] = v
	}
	secure := !p.opts.Insecure
	allow := cfg.AllowInternetAccess
	timeout := int(cfg.Timeout / time.Second)
	if timeout <= 0 {
		timeout = 300
	}
	sb, err := p.api.create(ctx, wire.NewSandbox{TemplateID: cfg.Template, Timeout: timeout,
		Secure: &secure, AllowInternetAccess: &allow, Metadata: meta, EnvVars: sandboxEnv(cfg.Environment)})
	if err != nil {
		if isCode(err, sandbox.CodeNotFound) {
			return nil, sandbox.InvalidArgument("template", "E2B has no template %q", cfg.Template)
		}
		if c := sandbox.CodeOf(err); (c == sandbox.CodeBackendUnavailable || c == sandbox.CodeTimeout) && labels[LabelSandboxID] != "" {
			// E2B may have made it and lost the answer: find it by label.
			p.killLabelled(ctx, labels[LabelSandboxID])
		}
		return nil, err
	}
	domain := ""
	if sb.Domain != nil {
		domain = *sb.Domain
	}
	in := p.newInstance(sb.SandboxID, domain, sb.EnvdAccessToken, cfg)
	if err := in.boot(ctx); err != nil {
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = p.api.kill(kctx, sb.SandboxID)
		cancel()
		in.closeHelper()
		p.log.Error().Err(err).Str("e2b_sandbox", sb.SandboxID).Msg("e2b sandbox set-up failed; killed it")
		se := sandbox.AsError(err)
		if se.Code == sandbox.CodeInternal {
			se = sandbox.Errorf(sandbox.CodeCreationFailed, "the E2B sandbox could not be set up").WithCause(err)
		}
		return nil, se
	}
	p.mu.Lock()
	p.instances[in] = struct{}{}
	p.mu.Unlock()
	p.log.Info().Str("e2b_sandbox", sb.SandboxID).Str("input_path", in.inputPath).Msg("e2b sandbox ready")
	return in, nil
}

// newInstance is E2B sandbox id (its envd at domain, with token) as an
// Instance, not yet booted or attached.
func (p *Provider) newInstance(id, domain, token string, cfg sandbox.Config) *Instance {
	return &Instance{p: p, id: id, domain: domain, cfg: cfg, display: p.opts.Display,
		envd: newEnvdClient(envd.Options{Base: p.opts.envdURL(id, domain), SandboxID: id,
			AccessToken: token, User: "user", HTTPClient: p.opts.HTTPClient})}
}

// killLabelled best-effort kills the sandboxes carrying one Manager id.
func (p *Provider) killLabelled(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	list, err := p.ListOwned(ctx, map[string]string{LabelSandboxID: id})
	if err != nil {
		return
	}
	for _, s := range list {
		if p.api.kill(ctx, s.ID) == nil {
			p.log.Warn().Str("e2b_sandbox", s.ID).Msg("killed a sandbox whose creation answer was lost")
		}
	}
}

// ListOwned returns the running E2B sandboxes this backend made whose
// metadata also matches filter (e.g. {LabelOwner: "alice"}).
func (p *Provider) ListOwned(ctx context.Context, filter map[string]string) ([]SandboxSummary, error) {
	f := map[string]string{LabelCreatedBy: createdByValue}
	for k, v := range filter {
		f[k] = v
	}
	list, err := p.api.list(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]SandboxSummary, 0, len(list))
	for _, d := range list {
		out = append(out, SandboxSummary{ID: d.SandboxID, Template: d.TemplateID, StartedAt: d.StartedAt,
			EndAt: d.EndAt, Labels: d.Metadata})
	}
	return out, nil
}

// SandboxSummary is one listed E2B sandbox.
type SandboxSummary struct {
	ID        string            `json:"id"`
	Template  string            `json:"template"`
	StartedAt time.Time         `json:"started_at"`
	EndAt     time.Time         `json:"end_at"`
	Labels    map[string]string `json:"labels"`
}

// Cleanup kills every running sandbox this server made (by its labels:
// created by vmservice, same ServerID) that is not one of this Provider's
// live instances: what a crashed or restarted server left behind. Call it
// at start-up. It returns how many it killed.
func (p *Provider) Cleanup(ctx context.Context) (int, error) {
	if p.opts.Shared { // other replicas serve what this server made
		return 0, nil
	}
	list, err := p.ListOwned(ctx, map[string]string{LabelServer: p.opts.ServerID})
	if err != nil {
		return 0, err
	}
	live := map[string]bool{}
	p.mu.Lock()
	for in := range p.instances {
		live[in.id] = true
	}
	p.mu.Unlock()
	n := 0
	for _, s := range list {
		if live[s.ID] {
			continue
		}
		if err := p.api.kill(ctx, s.ID); err != nil {
			return n, err
		}
		p.log.Info().Str("e2b_sandbox", s.ID).Msg("killed a sandbox left by an earlier server")
		n++
	}
	return n, nil
}

// Instance is one E2B sandbox.
type Instance struct {
	p       *Provider
	id      string
	domain  string
	cfg     sandbox.Config
	envd    *envdClient
	display string
	// foreignDisplay: the display was already running when we came.
	foreignDisplay bool

	// desk does the desktop work: the helper, or xdotool/scrot commands.
	desk      sandbox.Desktop
	inputPath string
	helper    *helper
	cmdDesk   *cmdDesktop

	mu        sync.Mutex
	destroyed bool
	vnc       *vncState
	// screen is the display's size once read: an Xvfb display keeps its
	// size, and asking costs a round trip (or an xdotool run) per call.
	screen sandbox.Resolution
}

var _ sandbox.Instance = (*Instance)(nil)

// ID is the E2B sandbox id.
func (in *Instance) ID() string { return in.id }

// Details says how the sandbox is driven; no secrets.
func (in *Instance) Details() map[string]any {
	in.driver() // notice a dead helper
	in.mu.Lock()
	defer in.mu.Unlock()
	return map[string]any{
		"e2b_sandbox_id": in.id,
		"display":        in.display,
		"input_path":     in.inputPath,
		"template":       in.cfg.Template,
	}
}

// boot prepares a fresh sandbox: working directory, desktop, input path.
func (in *Instance) boot(ctx context.Context) error {
	if err := in.envd.health(ctx, 30*time.Second); err != nil {
		return err
	}
	if err := in.envd.makeDir(ctx, in.cfg.WorkingDirectory); err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, in.p.opts.DesktopTimeout)
	defer cancel()
	if err := in.startDesktop(dctx); err != nil {
		return err
	}
	in.startInput(ctx)
	return nil
}

// startInput sets the input path: the helper, or xdotool commands when it
// cannot start (or is not wanted).
func (in *Instance) startInput(ctx context.Context) {
	in.cmdDesk = &cmdDesktop{in: in}
	in.desk, in.inputPath = in.cmdDesk, "xdotool"
	if in.p.opts.NoHelper {
		return
	}
	h, err := in.startHelper(ctx)
	if err != nil {
		in.p.log.Warn().Err(err).AnErr("cause", errors.Unwrap(err)).Str("e2b_sandbox", in.id).
			Msg("input helper did not start; using xdotool commands")
		return
	}
	in.helper, in.desk, in.inputPath = h, helperproto.Client{Call: h.call}, "helper"
}

// startDesktop starts Xvfb on :0 at the configured resolution and then the
// desktop session, as E2B's desktop template expects, unless a display is
// already up.
func (in *Instance) startDesktop(ctx context.Context) error {
	if _, err := in.sh(ctx, "xdpyinfo -display "+in.display+" >/dev/null 2>&1"); err == nil {
		// Someone else's X server (the emulator's host Xvfb, say): it may
		// not share our IPC namespace, so no MIT-SHM for x11vnc.
		in.foreignDisplay = true
		return nil
	}
	r := in.cfg.Resolution
	if _, err := in.Run(ctx, sandbox.CommandRequest{Background: true, Cwd: "/",
		Command: "Xvfb " + in.display + " -ac -screen 0 " + r.String() + "x24 -retro -dpi 96 -nolisten tcp >/tmp/xvfb.log 2>&1"}); err != nil {
		return err
	}
	// One round trip waits for the display instead of polling from here.
	if _, err := in.sh(ctx, "for i in $(seq 100); do xdpyinfo -display "+in.display+" >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1"); err != nil {
		return sandbox.Errorf(sandbox.CodeCreationFailed, "Xvfb did not start in the sandbox")
	}
	session := "if command -v startxfce4 >/dev/null; then exec startxfce4; elif command -v openbox >/dev/null; then exec openbox; fi"
	if _, err := in.Run(ctx, sandbox.CommandRequest{Background: true, Cwd: "/", Command: "(" + session + ") >/tmp/session.log 2>&1"}); err != nil {
		return err
	}
	return nil
}

// Alive checks the sandbox's envd and X display.
func (in *Instance) Alive(ctx context.Context) error {
	if in.isDestroyed() {
		return errGone()
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if d := in.driver(); d != sandbox.Desktop(in.cmdDesk) {
		if _, err := d.ScreenSize(ctx); err == nil {
			return nil
		}
	}
	if _, err := in.sh(ctx, "xdpyinfo -display "+in.display+" >/dev/null 2>&1"); err != nil {
		if sandbox.CodeOf(err) == sandbox.CodeNotFound {
			return err
		}
		return sandbox.Errorf(sandbox.CodeBackendUnavailable, "the sandbox's X display is not running").WithCause(err)
	}
	return nil
}

// SetTimeout moves E2B's own kill timer.
func (in *Instance) SetTimeout(ctx context.Context, d time.Duration) error {
	return in.p.api.setTimeout(ctx, in.id, d)
}

func (in *Instance) isDestroyed() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.destroyed
}

// Destroy kills the sandbox (idempotent).
func (in *Instance) Destroy(ctx context.Context) error {
	in.mu.Lock()
	if in.destroyed {
		in.mu.Unlock()
		return nil
	}
	in.destroyed = true
	in.mu.Unlock()
	in.closeHelper()
	err := in.p.api.kill(ctx, in.id)
	in.p.mu.Lock()
	delete(in.p.instances, in)
	in.p.mu.Unlock()
	return err
}

// abs makes a sandbox path absolute against the working directory.
func (in *Instance) abs(p string) (string, error) {
	if p == "" {
		return "", sandbox.InvalidArgument("path", "path must not be empty")
	}
	if strings.ContainsRune(p, 0) {
		return "", sandbox.InvalidArgument("path", "path must not contain NUL")
	}
	if !path.IsAbs(p) {
		p = path.Join(in.cfg.WorkingDirectory, p)
	}
	return path.Clean(p), nil
}

// withPath names the sandbox path in a file error's details.
func withPath(err error, p string) error {
	var se *sandbox.Error
	if errors.As(err, &se) && (se.Code == sandbox.CodeInvalidArgument || se.Code == sandbox.CodePermissionDenied) {
		if _, ok := se.Details["path"]; !ok {
			se.WithDetail("path", p)
		}
	}
	return err
}

// ReadFile reads a file of at most maxBytes (<= 0: no bound of ours).
func (in *Instance) ReadFile(ctx context.Context, p string, maxBytes int64) ([]byte, error) {
	full, err := in.abs(p)
	if err != nil {
		return nil, err
	}
	b, err := in.readFile(ctx, full, maxBytes)
	return b, withPath(err, full)
}

func (in *Instance) readFile(ctx context.Context, p string, maxBytes int64) ([]byte, error) {
	full := p
	st, err := in.envd.stat(ctx, full)
	if err != nil {
		return nil, err
	}
	if st.Type == envd.FileTypeDirectory {
		return nil, sandbox.InvalidArgument("path", "%s is a directory", p)
	}
	if maxBytes > 0 && int64(st.Size) > maxBytes {
		return nil, sandbox.InvalidArgument("max_bytes", "%s is %d bytes, more than the limit of %d bytes", p, int64(st.Size), maxBytes).
			WithDetail("size", int64(st.Size)).WithDetail("max_bytes", maxBytes)
	}
	return in.envd.download(ctx, full, maxBytes)
}

// WriteFile writes a file, creating parent directories.
func (in *Instance) WriteFile(ctx context.Context, p string, data []byte) error {
	full, err := in.abs(p)
	if err != nil {
		return err
	}
	return withPath(in.envd.upload(ctx, full, data), full)
}

// ListFiles lists a directory.
func (in *Instance) ListFiles(ctx context.Context, p string) ([]sandbox.FileEntry, error) {
	full, err := in.abs(p)
	if err != nil {
		return nil, err
	}
	es, err := in.envd.listDir(ctx, full)
	if err != nil {
		return nil, withPath(err, full)
	}
	out := make([]sandbox.FileEntry, 0, len(es))
	for _, e := range es {
		fe := sandbox.FileEntry{Name: e.Name, Path: e.Path, Size: int64(e.Size)}
		switch e.Type {
		case envd.FileTypeFile:
			fe.Type = "file"
		case envd.FileTypeDirectory:
			fe.Type = "dir"
		case envd.FileTypeSymlink:
			fe.Type = "symlink"
		default:
			fe.Type = "other"
		}
		if e.ModifiedTime != nil {
			fe.ModifiedAt = e.ModifiedTime.UTC()
		}
		out = append(out, fe)
	}
	return out, nil
}

// OpenFile opens a file with its default application (xdg-open).
func (in *Instance) OpenFile(ctx context.Context, p string) error {
	full, err := in.abs(p)
	if err != nil {
		return err
	}
	if _, err := in.envd.stat(ctx, full); err != nil {
		return withPath(err, full)
	}
	_, err = in.Run(ctx, sandbox.CommandRequest{Background: true, Command: "xdg-open " + shq(full) + " >/dev/null 2>&1"})
	return err
}

// sandboxEnv is the environment every process of the sandbox gets (E2B
// hands it to envd): the config's, with a UTF-8 locale unless it names
// one. envd gives a process no locale of its own and E2B's templates set
// none, and in the POSIX locale a terminal loses every non-ASCII letter
// typed into it: xterm sends Latin-1 bytes, which bash's readline reads as
// Meta-key commands ("tok-Ünï" became "tok-n"), and xdotool cannot type
// them at all.
func sandboxEnv(cfg map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range cfg {
		env[k] = v
	}
	if env["LANG"] == "" && env["LC_ALL"] == "" && env["LC_CTYPE"] == "" {
		env["LANG"] = "C.UTF-8"
	}
	return env
}
