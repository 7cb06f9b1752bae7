package procfs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatusKB(t *testing.T) {
	f := filepath.Join(t.TempDir(), "status")
	assert.NoError(t, os.WriteFile(f, []byte("Name:\tx\nVmRSS:\t   12345 kB\nPss:  7 kB\n"), 0o600))
	assert.Equal(t, 12345, StatusKB(f, "VmRSS"))
	assert.Equal(t, 7, StatusKB(f, "Pss"))
	assert.Equal(t, 0, StatusKB(f, "VmSwap"))
	assert.Equal(t, 0, StatusKB(filepath.Join(t.TempDir(), "missing"), "VmRSS"))
	assert.Positive(t, StatusKB("/proc/self/status", "VmRSS"), "this process has a resident set")
}

func TestStatus(t *testing.T) {
	s := parseStatus("Name:\tx11vnc\nUmask:\t0022\nState:\tZ (zombie)\nTgid:\t7\nPPid:\t42\nUid:\t1000\t1001\t1000\t1000\n")
	assert.Equal(t, Status{Name: "x11vnc", State: "Z", PPid: 42, UID: 1000, EUID: 1001}, s)
	assert.True(t, s.Zombie())
	me, ok := ReadStatus(os.Getpid())
	assert.True(t, ok)
	assert.Equal(t, os.Getuid(), me.UID)
	assert.Equal(t, os.Geteuid(), me.EUID)
	assert.Equal(t, os.Getppid(), me.PPid)
	assert.False(t, me.Zombie())
	assert.Equal(t, me.Name, Comm(os.Getpid()))
	assert.Equal(t, os.Args, Cmdline(os.Getpid()))
	assert.Contains(t, Pids(), os.Getpid())
	_, ok = ReadStatus(-1)
	assert.False(t, ok)
}

func TestLoadAvg(t *testing.T) {
	l := LoadAvg()
	require.Len(t, l, 3)
	for _, v := range l {
		assert.Regexp(t, `^[0-9]+\.[0-9]+$`, v)
	}
}

func TestShm(t *testing.T) {
	segs := parseShm("       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n" +
		"         0      32769  1600                393216  4242  4243      2  1000  1000   200005  1000 1700000000 1700000000 1700000000                393216                     0\n" +
		"short line\n")
	assert.Equal(t, []Segment{{ID: 32769, CPID: 4242, CUID: 200005}}, segs)
	_, err := ShmSegments()
	assert.NoError(t, err)
}

func TestChildren(t *testing.T) {
	// sh is single-threaded: its children are its main thread's.
	sh := exec.Command("sh", "-c", "sleep 60 & echo $!; wait")
	out, err := sh.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, sh.Start())
	t.Cleanup(func() { _ = sh.Process.Kill(); _ = sh.Wait() })
	var sleepPID int
	_, err = fmt.Fscan(out, &sleepPID)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(sleepPID, syscall.SIGKILL) })
	assert.Equal(t, []int{sleepPID}, Children(sh.Process.Pid))
	assert.Empty(t, Children(sleepPID))
}
