package x11

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A reply header claiming more than MaxReply fails the connection before
// xgb allocates it; honest traffic (set-up, events, errors, replies up to
// the limit), however it is split into reads, passes.
func TestFrameGuard(t *testing.T) {
	setup := make([]byte, 8+4*3)
	binary.LittleEndian.PutUint16(setup[6:], 3)
	event := make([]byte, 32)
	event[0] = 12 // Expose
	reply := func(bodyWords uint32) []byte {
		b := make([]byte, 32)
		b[0] = 1
		binary.LittleEndian.PutUint32(b[4:], bodyWords)
		return b
	}
	big := append(reply(MaxReply/4-8), make([]byte, MaxReply-32)...)
	stream := append(append(append(append([]byte{}, setup...), event...), reply(2)...), make([]byte, 8)...)
	stream = append(stream, big...)
	for _, chunk := range []int{1, 7, 32, 4096, len(stream)} {
		var g frameGuard
		for i := 0; i < len(stream); i += chunk {
			require.NoError(t, g.scan(stream[i:min(i+chunk, len(stream))]), "chunk %d at %d", chunk, i)
		}
	}
	var g frameGuard
	require.NoError(t, g.scan(setup))
	err := g.scan(reply(1 << 30))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "limit")
}
