// Package bwrap holds the bubblewrap arguments the local backend's jails
// share (the sandbox, its X server, the stream's VNC server).
package bwrap

import "os"

// System binds /usr read-only and recreates the top-level /bin, /sbin and
// /lib* entries as they are on the host: symlinks into /usr on a merged-/usr
// system, read-only binds otherwise.
func System() []string {
	a := []string{"--ro-bind", "/usr", "/usr"}
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		st, err := os.Lstat(d)
		switch {
		case err != nil:
		case st.Mode()&os.ModeSymlink != 0:
			if t, err := os.Readlink(d); err == nil {
				a = append(a, "--symlink", t, d)
			}
		case st.IsDir():
			a = append(a, "--ro-bind", d, d)
		}
	}
	return a
}
