package wire

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvelopes(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteEnvelope(&b, false, []byte(`{"a":1}`)))
	require.NoError(t, WriteEnvelope(&b, true, []byte(`{}`)))
	assert.Equal(t, []byte{0, 0, 0, 0, 7}, b.Bytes()[:5])
	r := NewEnvelopeReader(&b)
	p, end, err := r.Next()
	require.NoError(t, err)
	assert.False(t, end)
	assert.Equal(t, `{"a":1}`, string(p))
	p, end, err = r.Next()
	require.NoError(t, err)
	assert.True(t, end)
	assert.Equal(t, `{}`, string(p))
	_, _, err = r.Next()
	assert.Equal(t, io.EOF, err)

	_, _, err = NewEnvelopeReader(bytes.NewReader([]byte{0, 0, 0})).Next()
	assert.Error(t, err)
	_, _, err = NewEnvelopeReader(bytes.NewReader([]byte{1, 0, 0, 0, 0})).Next()
	assert.ErrorContains(t, err, "compressed")
	_, _, err = NewEnvelopeReader(bytes.NewReader([]byte{0, 0xff, 0, 0, 0})).Next()
	assert.ErrorContains(t, err, "too large")
}

// The proto3 JSON forms the official SDKs send and expect.
func TestProtoJSON(t *testing.T) {
	var e EntryInfo
	require.NoError(t, json.Unmarshal([]byte(`{"name":"a","type":"FILE_TYPE_FILE","size":"12","modifiedTime":"2026-11-27T10:00:00Z"}`), &e))
	assert.Equal(t, Int64(12), e.Size)
	require.NoError(t, json.Unmarshal([]byte(`{"size":34}`), &e))
	assert.Equal(t, Int64(34), e.Size)
	out, _ := json.Marshal(EntryInfo{Size: 5})
	assert.JSONEq(t, `{"size":"5"}`, string(out))

	var ev StartResponse
	require.NoError(t, json.Unmarshal([]byte(`{"event":{"data":{"stdout":"aGk="}}}`), &ev))
	assert.Equal(t, "hi", string(ev.Event.Data.Stdout))
	out, _ = json.Marshal(StartResponse{Event: ProcessEvent{End: &EndEvent{Exited: true}}})
	assert.JSONEq(t, `{"event":{"end":{"exited":true}}}`, string(out), "zero exit code omitted as proto3 does")

	assert.Equal(t, SignalSIGKILL, SignalName(json.RawMessage(`"SIGNAL_SIGKILL"`)))
	assert.Equal(t, SignalSIGTERM, SignalName(json.RawMessage(`15`)))
}

func TestErrors(t *testing.T) {
	e := DecodeUnaryError(404, []byte(`{"code":"not_found","message":"x"}`))
	assert.Equal(t, CodeNotFound, e.Code)
	assert.Equal(t, http.StatusNotFound, e.HTTPStatus())
	e = DecodeUnaryError(502, []byte(`<html>bad gateway</html>`))
	assert.Equal(t, CodeUnavailable, e.Code)
	assert.Equal(t, CodeUnauthenticated, DecodeUnaryError(401, nil).Code)
	h := http.Header{}
	assert.Zero(t, ParseTimeout(h))
	h.Set(TimeoutHeader, "1500")
	assert.Equal(t, int64(1500), ParseTimeout(h).Milliseconds())
}
