package sandbox

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArgs(t *testing.T) {
	for name, want := range map[string]Button{"": ButtonLeft, "left": ButtonLeft, "Middle": ButtonMiddle, "RIGHT": ButtonRight} {
		got, err := ParseButton(name)
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
	for name, want := range map[string]ScrollDirection{"up": ScrollUp, "Down": ScrollDown, "left": ScrollLeft, "RIGHT": ScrollRight} {
		got, err := ParseScrollDirection(name)
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
	n, err := ClickCount(0)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = ScrollAmount(0)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, CheckPoint(Point{X: 1023, Y: 767}, 1024, 768, "to"))

	for _, tc := range []struct {
		err   error
		field string
	}{
		{second(ParseButton("fourth")), "button"},
		{second(ParseScrollDirection("sideways")), "direction"},
		{second(ParseScrollDirection("")), "direction"},
		{second(ClickCount(4)), "count"},
		{second(ClickCount(-1)), "count"},
		{second(ScrollAmount(1001)), "amount"},
		{CheckPoint(Point{X: 1024, Y: 0}, 1024, 768, "from"), "from"},
		{CheckPoint(Point{X: 0, Y: -1}, 1024, 768, "point"), "point"},
	} {
		require.Error(t, tc.err)
		se := AsError(tc.err)
		assert.Equal(t, CodeInvalidArgument, se.Code, se.Message)
		assert.Equal(t, tc.field, se.Details["field"], se.Message)
	}
}

func second[T any](_ T, err error) error { return err }

func TestExpandHome(t *testing.T) {
	for in, want := range map[string]string{
		"~": "/home/user", "~/": "/home/user/", "~/notes.txt": "/home/user/notes.txt", "~/a/../b": "/home/user/a/../b",
		"~root/x": "~root/x", "a/~/b": "a/~/b", "/tmp/~": "/tmp/~", "": "", "notes.txt": "notes.txt",
	} {
		assert.Equal(t, want, ExpandHome(in), in)
	}
}
