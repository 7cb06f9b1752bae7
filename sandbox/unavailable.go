package sandbox

import "context"

// Unavailable is the Provider of a server whose backend could not start
// (a package missing, no permission, no API key). The server keeps
// answering, so the client sees why instead of "server disconnected": every
// Create fails with BackendError, which names what is missing and the fix.
func Unavailable(backend string, cause error) *UnavailableProvider {
	e := AsError(cause)
	be := &Error{Code: CodeBackendUnavailable, Message: "the " + backend + " backend is not available: " + e.Message,
		Details: map[string]any{"backend": backend}, cause: cause}
	for k, v := range e.Details {
		be.Details[k] = v
	}
	if e.Code != CodeBackendUnavailable {
		be.Details["reason"] = string(e.Code)
	}
	return &UnavailableProvider{backend: backend, err: be}
}

// UnavailableProvider is what Unavailable returns.
type UnavailableProvider struct {
	backend string
	err     *Error
}

var _ Provider = (*UnavailableProvider)(nil)

// Name is the backend that could not start.
func (u *UnavailableProvider) Name() string { return u.backend }

// Create always fails with BackendError.
func (u *UnavailableProvider) Create(context.Context, Config, map[string]string) (Instance, error) {
	return nil, u.BackendError()
}

// Close does nothing: nothing was started.
func (u *UnavailableProvider) Close() error { return nil }

// BackendError is why the backend is unavailable (a fresh copy per call:
// callers may add details).
func (u *UnavailableProvider) BackendError() *Error {
	c := *u.err
	c.Details = map[string]any{}
	for k, v := range u.err.Details {
		c.Details[k] = v
	}
	return &c
}
