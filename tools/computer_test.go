package tools

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

func TestScaler(t *testing.T) {
	tb := New(Options{ComputerSize: sandbox.Resolution{Width: 1024, Height: 768}})
	// 16:10 is shown at 1024x640, not squeezed into 1024x768.
	s := tb.scalerFor(sandbox.Resolution{Width: 1280, Height: 800})
	assert.Equal(t, sandbox.Resolution{Width: 1024, Height: 640}, s.adv())
	p, err := s.toReal("coordinate", []int{512, 320})
	require.NoError(t, err)
	assert.Equal(t, sandbox.Point{X: 640, Y: 400}, p)
	p, err = s.toReal("coordinate", []int{1023, 639})
	require.NoError(t, err)
	assert.Equal(t, sandbox.Point{X: 1279, Y: 799}, p, "the far edge stays on screen")
	x, y := s.fromReal(sandbox.Point{X: 640, Y: 400})
	assert.Equal(t, []int{512, 320}, []int{x, y})
	for _, c := range [][]int{{1024, 0}, {0, 640}, {-1, 0}, {1}} {
		_, err := s.toReal("coordinate", c)
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err), "%v", c)
	}
	// Every advertised pixel maps back to itself.
	for x := 0; x < 1024; x++ {
		p, _ := s.toReal("coordinate", []int{x, 0})
		bx, _ := s.fromReal(p)
		require.Equal(t, x, bx)
	}

	small := tb.scalerFor(sandbox.Resolution{Width: 800, Height: 600})
	assert.Equal(t, sandbox.Resolution{Width: 800, Height: 600}, small.adv(), "small screens are never scaled up")
	big := tb.scalerFor(sandbox.Resolution{Width: 1920, Height: 1080})
	assert.Equal(t, sandbox.Resolution{Width: 1024, Height: 576}, big.adv())
}

func TestModifiers(t *testing.T) {
	assert.Nil(t, modifiers(" "))
	assert.Equal(t, []string{"ctrl+shift"}, modifiers("ctrl+shift"), "the backend splits the combination")
}
