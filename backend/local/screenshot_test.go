package local

import (
	"context"
	"image"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A screenshot (the server's MIT-SHM segment, made in the X server's IPC
// namespace) must not capture the segment id an application in the sandbox
// asks the X server to attach: GTK applications launched after a
// screenshot hung before mapping a window.
func TestApplicationsStartAfterScreenshot(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	ctx := context.Background()
	_, err := in.Desktop().Screenshot(ctx, image.Rectangle{})
	require.NoError(t, err)
	require.True(t, in.desk.SHM(), "screenshots go through MIT-SHM")
	require.NoError(t, in.WriteFile(ctx, "notes.txt", []byte("hello")))
	_, err = in.Launch(ctx, "mousepad", "/home/user/notes.txt")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		wins, err := in.Desktop().ApplicationWindows(ctx, "mousepad")
		return err == nil && len(wins) > 0
	}, 60*time.Second, 100*time.Millisecond, "mousepad maps its window")
}
