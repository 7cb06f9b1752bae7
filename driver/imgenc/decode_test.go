package imgenc

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

// Frames are made inside the sandbox (the e2b helper, scrot), by programs
// sandbox code can replace or ptrace. A few bytes of PNG claiming a
// 60000x60000 image, or a well-formed frame larger than any screen (zeros
// compress 1000:1, so megabytes of PNG decode to gigabytes), are refused
// instead of decoded; honest frames decode.
func TestDecodePNGRefusesBombs(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 3))))
	img, err := DecodePNG(buf.Bytes())
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 4, 3), img.Bounds())

	bomb := append([]byte(nil), buf.Bytes()...)
	// IHDR follows the 8-byte signature: length(4) "IHDR" width height ...
	binary.BigEndian.PutUint32(bomb[16:], 60000)
	binary.BigEndian.PutUint32(bomb[20:], 60000)
	binary.BigEndian.PutUint32(bomb[29:], crc32.ChecksumIEEE(bomb[12:29]))
	_, err = DecodePNG(bomb)
	require.Error(t, err)
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))

	buf.Reset()
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	require.NoError(t, enc.Encode(&buf, image.NewGray(image.Rect(0, 0, sandbox.MaxWidth+1, 2))))
	_, err = DecodePNG(buf.Bytes())
	require.Error(t, err)
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
}
