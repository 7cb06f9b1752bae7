package securitytest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelpersSeeNoMoreThanTheyNeed: the per-sandbox helpers that parse
// what sandbox code sends them, were they subverted, hold nothing more. The
// X server (X clients can point it at files, as font paths) sees only /usr
// of the host; slirp4netns (it parses the sandbox's packets as the slot's
// uid in the host's user namespace, which owns the sandbox's) runs in a pid
// namespace of its own, where the sandbox's agent has no pid to ptrace or
// open. Before the fixes the X server saw the host's /etc and /opt, and
// slirp4netns every host process, the agent included. (x11vnc's jail:
// TestVNCServerTakesNoOrders.)
func TestHelpersSeeNoMoreThanTheyNeed(t *testing.T) {
	e := server(t)
	bob := connectHTTP(t, e.URL, bobToken)
	_, cg := newCgroup(t, bob, map[string]any{"allow_internet_access": true})
	var xvfb, slirp, agent int
	eventually(t, "the sandbox's helpers in its cgroup", 30*time.Second, func() bool {
		xvfb, slirp, agent = pidOf(cg, "Xvfb"), pidOf(cg, "slirp4netns"), pidOf(cg, "agent")
		return xvfb != 0 && slirp != 0 && agent != 0
	})

	root := "/proc/" + strconv.Itoa(xvfb) + "/root"
	_, err := os.Stat(root + "/usr/bin")
	require.NoError(t, err, "the X server's root is readable here")
	for _, d := range []string{"/etc", "/opt", "/home", "/root", localOpts.StateDir} {
		_, err := os.Stat(root + d)
		assert.True(t, os.IsNotExist(err), "the X server sees the host's %s", d)
	}

	self, err := os.Readlink("/proc/self/ns/pid")
	require.NoError(t, err)
	theirs, err := os.Readlink("/proc/" + strconv.Itoa(slirp) + "/ns/pid")
	require.NoError(t, err)
	assert.NotEqual(t, self, theirs, "slirp4netns in the host's pid namespace")
	procs, err := filepath.Glob("/proc/" + strconv.Itoa(slirp) + "/root/proc/[0-9]*")
	require.NoError(t, err)
	assert.NotEmpty(t, procs, "slirp4netns has a /proc")
	for _, p := range procs {
		n, _ := strconv.Atoi(filepath.Base(p))
		assert.Less(t, n, 10, "slirp4netns sees pid %d", n)
	}
	_, err = os.Stat("/proc/" + strconv.Itoa(slirp) + "/root/proc/" + strconv.Itoa(agent))
	assert.True(t, os.IsNotExist(err), "slirp4netns sees the agent (pid %d)", agent)
}
