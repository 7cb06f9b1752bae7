package x11

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

func TestArgs(t *testing.T) {
	for b, want := range map[sandbox.Button]byte{"": 1, sandbox.ButtonLeft: 1, sandbox.ButtonMiddle: 2, sandbox.ButtonRight: 3} {
		got, err := ButtonNumber(b)
		require.NoError(t, err)
		assert.Equal(t, want, got, b)
	}
	for d, want := range map[sandbox.ScrollDirection]byte{sandbox.ScrollUp: 4, sandbox.ScrollDown: 5, sandbox.ScrollLeft: 6, sandbox.ScrollRight: 7} {
		got, err := WheelButton(d)
		require.NoError(t, err)
		assert.Equal(t, want, got, d)
	}
	n, err := ClickCount(0)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = ScrollAmount(0)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, CheckPoint(sandbox.Point{X: 1023, Y: 767}, 1024, 768, "to"))

	for _, tc := range []struct {
		err   error
		field string
	}{
		{second(ButtonNumber("fourth")), "button"},
		{second(WheelButton("sideways")), "direction"},
		{second(ClickCount(4)), "count"},
		{second(ClickCount(-1)), "count"},
		{second(ScrollAmount(1001)), "amount"},
		{CheckPoint(sandbox.Point{X: 1024, Y: 0}, 1024, 768, "from"), "from"},
		{CheckPoint(sandbox.Point{X: 0, Y: -1}, 1024, 768, "point"), "point"},
	} {
		se := requireCode(t, tc.err, sandbox.CodeInvalidArgument)
		assert.Equal(t, tc.field, se.Details["field"], se.Message)
	}
}

func second[T any](_ T, err error) error { return err }
