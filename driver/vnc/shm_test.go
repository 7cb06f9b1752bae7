package vnc_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/vnc/vnctest"
	"github.com/vmservice/vmservice/driver/x11/x11test"
)

// segmentsOf counts the SysV shared memory segments created by pid.
func segmentsOf(t *testing.T, pid int) int {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	require.NoError(t, err)
	n := 0
	for _, l := range strings.Split(string(b), "\n")[1:] {
		if f := strings.Fields(l); len(f) > 4 && f[4] == strconv.Itoa(pid) {
			n++
		}
	}
	return n
}

// TestNoSharedMemoryLeft: x11vnc grabbing the screen with MIT-SHM leaves
// its segments behind when it is SIGKILLed (Stop does so when its clean-up
// lingers) and they would hold host memory until reboot; the server removes
// them once x11vnc is gone, however it went.
func TestNoSharedMemoryLeft(t *testing.T) {
	for _, how := range []string{"x11vnc killed", "X server killed"} {
		t.Run(how, func(t *testing.T) {
			d := newDesk(t)
			srv := start(t, d.spec())
			c := dial(t, srv)
			cl, _, err := vnctest.Handshake(c, "")
			require.NoError(t, err)
			_, err = cl.Pixel(1, 1)
			require.NoError(t, err)
			pid := srv.PID()
			require.Positive(t, segmentsOf(t, pid), "x11vnc uses MIT-SHM here (else this proves nothing)")
			victim := pid
			if how == "X server killed" {
				victim = x11test.Pid(d.display)
			}
			require.NoError(t, syscall.Kill(victim, syscall.SIGKILL))
			select {
			case <-srv.Done():
			case <-time.After(20 * time.Second):
				t.Fatal("x11vnc did not end")
			}
			// Removed segments the X server still has attached stay listed
			// until it notices the client is gone and detaches; without the
			// removal they would stay for good.
			assert.Eventually(t, func() bool { return segmentsOf(t, pid) == 0 }, 60*time.Second, 20*time.Millisecond)
		})
	}
}
