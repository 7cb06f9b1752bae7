package x11

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

func TestArgs(t *testing.T) {
	for b, want := range map[sandbox.Button]byte{"": 1, sandbox.ButtonLeft: 1, sandbox.ButtonMiddle: 2, sandbox.ButtonRight: 3, "Right": 3} {
		got, err := ButtonNumber(b)
		require.NoError(t, err)
		assert.Equal(t, want, got, b)
	}
	for d, want := range map[sandbox.ScrollDirection]byte{sandbox.ScrollUp: 4, sandbox.ScrollDown: 5, sandbox.ScrollLeft: 6, sandbox.ScrollRight: 7} {
		got, err := WheelButton(d)
		require.NoError(t, err)
		assert.Equal(t, want, got, d)
	}
	for _, tc := range []struct {
		err   error
		field string
	}{
		{second(ButtonNumber("fourth")), "button"},
		{second(WheelButton("sideways")), "direction"},
	} {
		se := requireCode(t, tc.err, sandbox.CodeInvalidArgument)
		assert.Equal(t, tc.field, se.Details["field"], se.Message)
	}
}

func second[T any](_ T, err error) error { return err }
