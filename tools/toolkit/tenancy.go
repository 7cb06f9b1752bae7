package toolkit

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/vmservice/vmservice/auth"
	"github.com/vmservice/vmservice/sandbox"
)

// Env is what tool and resource handlers act on.
type Env struct {
	Manager *sandbox.Manager
	// MaxReadBytes bounds read_file and the file resource (default 10 MiB).
	MaxReadBytes int64
	Log          zerolog.Logger
}

// Principal is the caller; a context without one (a bug in the transport
// wiring) gets an empty principal that owns nothing.
func Principal(ctx context.Context) auth.Principal {
	p, _ := auth.FromContext(ctx)
	return p
}

// Owner resolves a user_id argument: callers act for themselves; only admin
// principals may name another user.
func Owner(ctx context.Context, userID string) (string, error) {
	p := Principal(ctx)
	if p.ID == "" {
		return "", sandbox.Errorf(sandbox.CodeAuthenticationFailed, "no authenticated principal for this request")
	}
	if userID == "" || userID == p.ID {
		return p.ID, nil
	}
	if !p.Admin {
		return "", sandbox.Errorf(sandbox.CodePermissionDenied, "user_id may name only yourself (%s); acting for other users needs an admin token", p.ID).
			WithDetail("field", "user_id")
	}
	if !auth.ValidPrincipal(userID) {
		return "", sandbox.InvalidArgument("user_id", "user_id %q is not a valid user id", userID)
	}
	return userID, nil
}

// Sandbox returns the caller's sandbox id (any sandbox for admins); another
// tenant's sandbox is SANDBOX_NOT_FOUND.
func (e *Env) Sandbox(ctx context.Context, id string) (*sandbox.Sandbox, error) {
	if id == "" {
		return nil, sandbox.InvalidArgument("sandbox_id", "sandbox_id is required")
	}
	// Checked here, not in every tool's schema (tools/list stays small).
	if len(id) > maxSandboxID {
		return nil, sandbox.InvalidArgument("sandbox_id", "sandbox_id is %d bytes; create_sandbox hands out short ones (sb_...)", len(id))
	}
	p := Principal(ctx)
	if p.ID == "" {
		return nil, sandbox.NotFound(id)
	}
	if p.Admin {
		return e.Manager.LookupAny(ctx, id)
	}
	return e.Manager.Lookup(ctx, p.ID, id)
}

const maxSandboxID = 128

// ReadFile reads a file of a sandbox, at most MaxReadBytes of it.
func (e *Env) ReadFile(ctx context.Context, sb *sandbox.Sandbox, path string) ([]byte, error) {
	return sb.Instance().ReadFile(ctx, path, e.MaxReadBytes)
}

type sessionKey struct{}

// WithSession marks ctx as belonging to a lasting MCP session, whose end
// destroys the sandboxes created in it. The transport layer decides which
// sessions last (see mcpserver).
func WithSession(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, sessionKey{}, id)
}

// SessionID is the lasting session of ctx, or "".
func SessionID(ctx context.Context) string {
	if id, ok := ctx.Value(sessionKey{}).(string); ok {
		return id
	}
	return ""
}
