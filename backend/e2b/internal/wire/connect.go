// Package wire is E2B's wire format, shared by the backend's clients and the
// test emulator so the two can never drift apart: the Connect protocol with
// JSON encoding (unary and server-streaming calls to envd), the proto3 JSON
// forms of envd's messages, and the control plane's REST bodies.
//
// Connect is written by hand rather than with connectrpc.com/connect: the
// official SDKs speak its JSON form only, which is plain HTTP POSTs plus a
// 5-byte envelope on streams, while connect-go needs protoc-generated message
// types (a code generator and google.golang.org/protobuf) for a dozen small
// messages.
package wire

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Content types of the Connect protocol's JSON codec.
const (
	ContentTypeUnary  = "application/json"
	ContentTypeStream = "application/connect+json"
	// ProtocolVersionHeader is sent on unary calls (required by strict servers).
	ProtocolVersionHeader = "Connect-Protocol-Version"
	TimeoutHeader         = "Connect-Timeout-Ms"
)

// Envelope flags.
const (
	flagCompressed = 0x01
	flagEndStream  = 0x02
	// MaxMessage bounds one enveloped message (a screenshot in base64 fits).
	MaxMessage = 64 << 20
)

// Connect error codes (the subset envd and the emulator use).
const (
	CodeCanceled           = "canceled"
	CodeUnknown            = "unknown"
	CodeInvalidArgument    = "invalid_argument"
	CodeDeadlineExceeded   = "deadline_exceeded"
	CodeNotFound           = "not_found"
	CodeAlreadyExists      = "already_exists"
	CodePermissionDenied   = "permission_denied"
	CodeResourceExhausted  = "resource_exhausted"
	CodeFailedPrecondition = "failed_precondition"
	CodeUnimplemented      = "unimplemented"
	CodeInternal           = "internal"
	CodeUnavailable        = "unavailable"
	CodeUnauthenticated    = "unauthenticated"
)

// Error is a Connect error as it travels in JSON.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

func (e *Error) Error() string { return "connect " + e.Code + ": " + e.Message }

// HTTPStatus is the HTTP status a unary error answer carries.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeCanceled:
		return 499
	case CodeInvalidArgument, CodeFailedPrecondition:
		return http.StatusBadRequest
	case CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case CodeNotFound:
		return http.StatusNotFound
	case CodeAlreadyExists:
		return http.StatusConflict
	case CodePermissionDenied:
		return http.StatusForbidden
	case CodeResourceExhausted:
		return http.StatusTooManyRequests
	case CodeUnimplemented:
		return http.StatusNotImplemented
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// CodeFromHTTP is the Connect code for an HTTP status without a Connect body
// (a proxy's answer, say).
func CodeFromHTTP(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeInternal
	case http.StatusUnauthorized:
		return CodeUnauthenticated
	case http.StatusForbidden:
		return CodePermissionDenied
	case http.StatusNotFound:
		return CodeUnimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return CodeUnavailable
	}
	return CodeUnknown
}

// WriteEnvelope writes one enveloped message (flags 0, or end-stream).
func WriteEnvelope(w io.Writer, endStream bool, payload []byte) error {
	var hdr [5]byte
	if endStream {
		hdr[0] = flagEndStream
	}
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// EndStream is the JSON of a stream's last envelope.
type EndStream struct {
	Error    *Error              `json:"error,omitempty"`
	Metadata map[string][]string `json:"metadata,omitempty"`
}

// EnvelopeReader reads enveloped messages off a stream.
type EnvelopeReader struct {
	r *bufio.Reader
}

// NewEnvelopeReader wraps r.
func NewEnvelopeReader(r io.Reader) *EnvelopeReader {
	return &EnvelopeReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next message's payload and whether it is the end-stream
// envelope. It returns io.EOF when the stream ends without one.
func (er *EnvelopeReader) Next() (payload []byte, end bool, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(er.r, hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return nil, false, fmt.Errorf("connect: truncated envelope header")
		}
		return nil, false, err
	}
	if hdr[0]&flagCompressed != 0 {
		return nil, false, fmt.Errorf("connect: compressed messages are not supported")
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxMessage {
		return nil, false, fmt.Errorf("connect: message of %d bytes is too large", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(er.r, payload); err != nil {
		return nil, false, fmt.Errorf("connect: truncated message: %w", err)
	}
	return payload, hdr[0]&flagEndStream != 0, nil
}

// DecodeUnaryError reads a unary call's error answer.
func DecodeUnaryError(status int, body []byte) *Error {
	var e Error
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		return &e
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return &Error{Code: CodeFromHTTP(status), Message: fmt.Sprintf("HTTP %d %s", status, msg)}
}

// WriteUnaryError answers a unary call with err.
func WriteUnaryError(w http.ResponseWriter, err *Error) {
	w.Header().Set("Content-Type", ContentTypeUnary)
	w.WriteHeader(err.HTTPStatus())
	_ = json.NewEncoder(w).Encode(err)
}

// ParseTimeout reads the Connect-Timeout-Ms header (0 = none).
func ParseTimeout(h http.Header) time.Duration {
	v := h.Get(TimeoutHeader)
	if v == "" {
		return 0
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
