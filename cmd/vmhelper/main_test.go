package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/x11/x11test"
)

func TestDisplayNumber(t *testing.T) {
	for in, want := range map[string]string{":0": "0", ":12.0": "12", "host:1": "", ":x": "", "": ""} {
		assert.Equal(t, want, displayNumber(in), in)
	}
}

func TestXauthCookie(t *testing.T) {
	f := filepath.Join(t.TempDir(), "auth")
	require.NoError(t, exec.Command("xauth", "-f", f, "add", ":5", ".", "00112233445566778899aabbccddeeff").Run())
	require.NoError(t, exec.Command("xauth", "-f", f, "add", ":6", ".", "ffeeddccbbaa99887766554433221100").Run())
	t.Setenv("XAUTHORITY", f)
	assert.Equal(t, []byte{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00}, xauthCookie("6"))
	assert.Nil(t, xauthCookie("7"))
}

// TestDialFallsBackToAbstractSocket: the socket file is missing (as when
// Xvfb could not create it); the helper still reaches the server.
func TestDialFallsBackToAbstractSocket(t *testing.T) {
	_, _, display, auth := x11test.StartXvfb(t, 320, 240)
	t.Setenv("DISPLAY", display)
	t.Setenv("XAUTHORITY", auth)
	c, err := dial()
	require.NoError(t, err)
	require.NoError(t, c.Close())

	// An -ac server on the abstract socket only (a free display number
	// chosen by Xvfb itself through -displayfd).
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-ac", "-screen", "0", "320x240x24", "-nolisten", "tcp", "-nolisten", "unix")
	cmd.ExtraFiles = []*os.File{pw}
	require.NoError(t, cmd.Start())
	pw.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	n := strings.TrimSpace(line)
	t.Setenv("DISPLAY", ":"+n)
	t.Setenv("XAUTHORITY", filepath.Join(t.TempDir(), "none"))
	require.Eventually(t, func() bool {
		c, err := dial()
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 10*time.Second, 100*time.Millisecond)
	_, err = os.Stat("/tmp/.X11-unix/X" + n)
	assert.True(t, os.IsNotExist(err), "no socket file: the abstract socket was used")
}
