package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorForms(t *testing.T) {
	e := QuotaExceeded("max_concurrent_sandboxes", 10, 10)
	d := e.ToDict()
	assert.Equal(t, "QUOTA_EXCEEDED", d["error_code"])
	details := d["details"].(map[string]any)
	assert.Equal(t, 10, details["current_usage"])
	assert.Equal(t, 10, details["limit"])

	b, err := json.Marshal(e)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, "QUOTA_EXCEEDED", back["error_code"])
	assert.NotEmpty(t, back["message"])

	nf := NotFound("sb_x")
	assert.Equal(t, CodeNotFound, nf.Code)
	assert.Equal(t, "sb_x", nf.Details["sandbox_id"])
}

func TestAsErrorHidesForeignErrors(t *testing.T) {
	raw := fmt.Errorf("open /run/vmservice/local/secret/home: permission denied")
	se := AsError(raw)
	assert.Equal(t, CodeInternal, se.Code)
	assert.NotContains(t, se.Message, "/run")
	assert.ErrorIs(t, se, raw, "the cause stays available for logs")

	assert.Equal(t, CodeTimeout, CodeOf(context.DeadlineExceeded))
	assert.Equal(t, CodeTimeout, CodeOf(fmt.Errorf("wrapped: %w", context.Canceled)))
	wrapped := fmt.Errorf("ctx: %w", InvalidArgument("x", "bad x"))
	assert.Equal(t, CodeInvalidArgument, CodeOf(wrapped))
	assert.Equal(t, Code(""), CodeOf(nil))
	assert.Nil(t, AsError(nil))
}

func TestRetry(t *testing.T) {
	calls := 0
	v, err := Retry(context.Background(), 3, func(context.Context) (int, error) {
		calls++
		if calls < 3 {
			return 0, Errorf(CodeBackendUnavailable, "flaky")
		}
		return 42, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 42, v)
	assert.Equal(t, 3, calls)

	calls = 0
	_, err = Retry(context.Background(), 5, func(context.Context) (int, error) {
		calls++
		return 0, InvalidArgument("f", "never retried")
	})
	assert.Equal(t, 1, calls, "only transient errors are retried")
	assert.Equal(t, CodeInvalidArgument, CodeOf(err))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Retry(ctx, 5, func(context.Context) (int, error) {
		return 0, Errorf(CodeBackendUnavailable, "down")
	})
	assert.True(t, errors.Is(err, context.Canceled) || CodeOf(err) == CodeBackendUnavailable || CodeOf(err) == CodeTimeout)
}
