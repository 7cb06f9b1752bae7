package testwait

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPoll(t *testing.T) {
	n := 0
	assert.NoError(t, Poll(context.Background(), time.Minute, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}), "the state reached on the third call")
	assert.Equal(t, 3, n)

	n = 0
	err := Poll(context.Background(), 3*Interval, func() error { n++; return errors.New("never") })
	assert.EqualError(t, err, "never", "the last error once the deadline passes")
	assert.GreaterOrEqual(t, n, 2, "asked again before giving up")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.EqualError(t, Poll(ctx, time.Minute, func() error { return errors.New("gone") }), "gone", "a cancelled context ends the wait")
}
