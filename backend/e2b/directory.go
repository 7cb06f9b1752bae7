package e2b

import (
	"context"
	"time"

	"github.com/vmservice/vmservice/sandbox"
)

// Shared mode (Options.Shared, sandbox.Settings.Shared): the replicas of
// one deployment (one ServerID) share an E2B account and find each other's
// sandboxes by their labels in E2B's metadata. Nothing is killed when a
// replica stops or starts: E2B's timeout ends a sandbox.

var _ sandbox.Directory = (*Provider)(nil)

// Records lists the deployment's live sandboxes of owner ("" = all).
func (p *Provider) Records(ctx context.Context, owner string) ([]sandbox.Record, error) {
	f := map[string]string{LabelServer: p.opts.ServerID}
	if owner != "" {
		f[sandbox.LabelOwner] = owner
	}
	list, err := p.ListOwned(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]sandbox.Record, 0, len(list))
	for _, s := range list {
		if r, ok := sandbox.RecordOf(s.Labels, s.StartedAt, s.EndAt); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Find reconnects to the deployment's sandbox labelled id: the instance
// this replica already drives, or a new one attached to it (envd reached,
// the input helper started).
func (p *Provider) Find(ctx context.Context, id string) (*sandbox.Found, error) {
	list, err := p.ListOwned(ctx, map[string]string{LabelServer: p.opts.ServerID, sandbox.LabelSandboxID: id})
	if err != nil || len(list) == 0 {
		return nil, err
	}
	s := list[0]
	rec, ok := sandbox.RecordOf(s.Labels, s.StartedAt, s.EndAt)
	if !ok {
		return nil, nil
	}
	p.attachMu.Lock()
	defer p.attachMu.Unlock()
	if in := p.live(s.ID); in != nil {
		return &sandbox.Found{Record: rec, Instance: in}, nil
	}
	in, err := p.attach(ctx, s.ID, rec.Config)
	if err != nil {
		return nil, err
	}
	return &sandbox.Found{Record: rec, Instance: in}, nil
}

// live is this Provider's instance of E2B sandbox id, if it drives one.
func (p *Provider) live(id string) *Instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	for in := range p.instances {
		if in.id == id && !in.isDestroyed() {
			return in
		}
	}
	return nil
}

// attach drives a sandbox another replica made: its envd (token and domain
// from E2B), its running display, a helper of this replica's own.
func (p *Provider) attach(ctx context.Context, id string, cfg sandbox.Config) (*Instance, error) {
	d, err := p.api.get(ctx, id)
	if err != nil {
		return nil, err
	}
	domain := ""
	if d.Domain != nil {
		domain = *d.Domain
	}
	in := p.newInstance(id, domain, d.EnvdAccessToken, cfg)
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := in.envd.health(actx, 30*time.Second); err != nil {
		return nil, err
	}
	if _, err := in.sh(actx, "xdpyinfo -display "+in.display+" >/dev/null 2>&1"); err != nil {
		return nil, sandbox.Errorf(sandbox.CodeBackendUnavailable, "the sandbox's display is not running").WithCause(err)
	}
	// Our own X server is visible in the sandbox (startDesktop); another's
	// (the emulator's) is not.
	if _, err := in.sh(actx, "pgrep -x Xvfb >/dev/null"); err != nil {
		in.foreignDisplay = true
	}
	in.startInput(actx)
	p.mu.Lock()
	p.instances[in] = struct{}{}
	p.mu.Unlock()
	p.log.Info().Str("e2b_sandbox", id).Str("input_path", in.inputPath).Msg("e2b sandbox attached")
	return in, nil
}
