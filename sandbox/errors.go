package sandbox

import (
	"context"
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. Clients branch on it, so
// codes are never renamed.
type Code string

const (
	CodeInvalidArgument      Code = "INVALID_ARGUMENT"
	CodeNotFound             Code = "SANDBOX_NOT_FOUND"
	CodeCreationFailed       Code = "SANDBOX_CREATION_FAILED"
	CodeQuotaExceeded        Code = "QUOTA_EXCEEDED"
	CodeAuthenticationFailed Code = "AUTHENTICATION_FAILED"
	CodePermissionDenied     Code = "PERMISSION_DENIED"
	CodeTimeout              Code = "TIMEOUT"
	CodeBackendUnavailable   Code = "BACKEND_UNAVAILABLE"
	CodeInternal             Code = "INTERNAL"
	// CodeUnsupported: the client lacks a capability the call needs (details
	// name it), e.g. hand_over without URL-mode elicitation.
	CodeUnsupported Code = "UNSUPPORTED"
)

// Codes lists every code, for schemas and documentation.
var Codes = []Code{CodeInvalidArgument, CodeNotFound, CodeCreationFailed, CodeQuotaExceeded, CodeAuthenticationFailed,
	CodePermissionDenied, CodeTimeout, CodeBackendUnavailable, CodeInternal, CodeUnsupported}

// Error is the one error type of the SDK: a stable code, a message a person
// can act on, and structured details. It never carries host paths.
type Error struct {
	Code    Code           `json:"error_code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
	// cause is kept for logs only; it is not part of the public form.
	cause error
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap exposes the internal cause to errors.Is / errors.As (for logging).
func (e *Error) Unwrap() error { return e.cause }

// ToDict is the VM Service SDK's dict form: error_code, message, details.
func (e *Error) ToDict() map[string]any {
	d := map[string]any{"error_code": string(e.Code), "message": e.Message}
	if len(e.Details) > 0 {
		d["details"] = e.Details
	} else {
		d["details"] = map[string]any{}
	}
	return d
}

// Errorf builds an Error with the given code.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetail returns e with one more detail set.
func (e *Error) WithDetail(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// WithCause records an internal cause (logged, never shown to clients).
func (e *Error) WithCause(err error) *Error {
	e.cause = err
	return e
}

// InvalidArgument reports a bad field with the allowed values.
func InvalidArgument(field, format string, args ...any) *Error {
	return Errorf(CodeInvalidArgument, format, args...).WithDetail("field", field)
}

// NotFound is what a caller gets for a missing sandbox or one owned by
// someone else: the two are deliberately indistinguishable.
func NotFound(id string) *Error {
	return Errorf(CodeNotFound, "sandbox %q does not exist or is not yours", id).WithDetail("sandbox_id", id)
}

// QuotaExceeded carries the VM Service SDK's current_usage and limit details.
func QuotaExceeded(what string, current, limit int) *Error {
	return Errorf(CodeQuotaExceeded, "%s: %d of %d in use; destroy a sandbox first", what, current, limit).
		WithDetail("current_usage", current).WithDetail("limit", limit).WithDetail("quota", what)
}

// AsError converts any error into an *Error. Context errors become TIMEOUT;
// anything unknown becomes INTERNAL with a generic message, so raw Go error
// strings (which may contain host paths) never reach a client.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Errorf(CodeTimeout, "the operation did not finish in time").WithCause(err)
	}
	if errors.Is(err, context.Canceled) {
		return Errorf(CodeTimeout, "the operation was cancelled").WithCause(err)
	}
	return Errorf(CodeInternal, "internal error; see the server log").WithCause(err)
}

// CodeOf returns the code of err (INTERNAL for foreign errors, "" for nil).
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return AsError(err).Code
}
