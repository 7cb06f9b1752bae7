package x11

import (
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pixelAt(t testing.TB, c *Conn, x, y int) uint32 {
	t.Helper()
	img, err := c.Screenshot(bg, image.Rect(x, y, x+1, y+1))
	require.NoError(t, err)
	return uint32(img.Pix[0])<<16 | uint32(img.Pix[1])<<8 | uint32(img.Pix[2])
}

func TestSetBackground(t *testing.T) {
	d := newDisplay(t, 320, 240)
	require.NoError(t, d.c.SetBackground(bg, 0x3a6ea5))
	assert.Equal(t, uint32(0x3a6ea5), pixelAt(t, d.c, 10, 10))
	assert.Equal(t, uint32(0x3a6ea5), pixelAt(t, d.c, 319, 239))
}
