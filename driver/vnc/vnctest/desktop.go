package vnctest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vmservice/vmservice/driver/vnc"
	"github.com/vmservice/vmservice/driver/x11/x11test"
)

// Nobody is the uid and gid tests run x11vnc as, as a sandbox uid would.
const Nobody = 65534

// Desktop starts a w x h Xvfb and returns a vnc.Spec that serves it as
// Nobody: the display's cookie copied where Nobody can read it, and a run
// directory Nobody can reach. All of it goes away in t.Cleanup.
func Desktop(t testing.TB, w, h int) vnc.Spec {
	t.Helper()
	_, _, display, auth := x11test.StartXvfb(t, w, h)
	// Not t.TempDir: its parent is 0700 and the sandbox user must traverse.
	dir, err := os.MkdirTemp("", "vnctest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	a := filepath.Join(dir, "Xauthority")
	data, err := os.ReadFile(auth)
	if err == nil {
		err = os.Chmod(dir, 0o711)
	}
	if err == nil {
		err = os.WriteFile(a, data, 0o600)
	}
	if err == nil {
		err = os.Chown(a, Nobody, Nobody)
	}
	if err != nil {
		t.Fatal(err)
	}
	// ShareIPC: the test X server is in the host's IPC namespace, as x11vnc
	// then is (the local backend puts both in the X server's own).
	return vnc.Spec{Display: display, AuthFile: a, Dir: filepath.Join(dir, "run"), UID: Nobody, GID: Nobody, ShareIPC: true}
}
