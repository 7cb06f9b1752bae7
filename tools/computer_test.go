package tools

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

func TestScaler(t *testing.T) {
	s := scaler{real: sandbox.Resolution{Width: 1280, Height: 960}, adv: sandbox.Resolution{Width: 1024, Height: 768}}
	p, err := s.toReal("coordinate", []int{512, 384})
	require.NoError(t, err)
	assert.Equal(t, sandbox.Point{X: 640, Y: 480}, p)
	p, err = s.toReal("coordinate", []int{1023, 767})
	require.NoError(t, err)
	assert.Equal(t, sandbox.Point{X: 1279, Y: 959}, p, "the far edge stays on screen")
	x, y := s.fromReal(sandbox.Point{X: 640, Y: 480})
	assert.Equal(t, []int{512, 384}, []int{x, y})
	for _, c := range [][]int{{1024, 0}, {0, 768}, {-1, 0}, {1}} {
		_, err := s.toReal("coordinate", c)
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err), "%v", c)
	}
	// Round trips stay within one pixel.
	for x := 0; x < 1024; x += 37 {
		p, _ := s.toReal("coordinate", []int{x, 0})
		bx, _ := s.fromReal(p)
		assert.InDelta(t, x, bx, 1)
	}

	tb := New(Options{ComputerSize: sandbox.Resolution{Width: 1024, Height: 768}})
	small := tb.scalerFor(sandbox.Resolution{Width: 800, Height: 600})
	assert.Equal(t, small.real, small.adv, "small screens are never scaled up")
	big := tb.scalerFor(sandbox.Resolution{Width: 1920, Height: 1080})
	assert.Equal(t, sandbox.Resolution{Width: 1024, Height: 768}, big.adv)
}

func TestModifiers(t *testing.T) {
	assert.Nil(t, modifiers(" "))
	assert.Equal(t, []string{"ctrl+shift"}, modifiers("ctrl+shift"), "the backend splits the combination")
}
