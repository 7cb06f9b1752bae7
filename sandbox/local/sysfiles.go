package local

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// The sandbox's /etc is the host's, bound read-only. A few of its files are
// the sandbox's own instead: generated once per server under
// StateDir/sys (root-owned, read-only to sandboxes) and bound over the
// host's in every sandbox, so a sandbox never sees the host's accounts or
// host name and its desktop starts the same on every machine.

// sandboxHostname is every sandbox's host name (its own UTS namespace).
const sandboxHostname = "sandbox"

// sysFile is one generated file: its path inside the sandbox and content.
type sysFile struct {
	path    string
	mode    os.FileMode
	content string
}

// identityFiles: one login account, `user` (uid 1000, home /home/user),
// plus the root and nobody entries every system has (both unmapped in the
// sandbox's user namespace: files of other owners show as nobody).
func identityFiles() []sysFile {
	return []sysFile{
		{"/etc/passwd", 0o644, fmt.Sprintf(
			"root:x:0:0:root:/root:/usr/sbin/nologin\n"+
				"user:x:%d:%d:user:%s:/bin/bash\n"+
				"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", innerUID, innerUID, homeDir)},
		{"/etc/group", 0o644, fmt.Sprintf("root:x:0:\nuser:x:%d:\nnogroup:x:65534:\n", innerUID)},
		// Locked passwords; unreadable to the sandbox user all the same.
		{"/etc/shadow", 0o600, "root:*:20000:0:99999:7:::\nuser:*:20000:0:99999:7:::\nnobody:*:20000:0:99999:7:::\n"},
		{"/etc/gshadow", 0o600, "root:*::\nuser:!::\nnogroup:*::\n"},
		{"/etc/hostname", 0o644, sandboxHostname + "\n"},
		{"/etc/hosts", 0o644, "127.0.0.1\tlocalhost\n127.0.1.1\t" + sandboxHostname + "\n" +
			"::1\tlocalhost ip6-localhost ip6-loopback\n"},
	}
}

// writeSysFiles writes the generated files under dir (dir/etc/passwd for
// /etc/passwd) and returns the bubblewrap arguments that bind them. Each
// file is replaced atomically: servers sharing a state directory may write
// at once, and a running sandbox keeps the inode it bound.
func writeSysFiles(dir string, files []sysFile) ([]string, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	var args []string
	for _, f := range files {
		dst := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
		if err != nil {
			return nil, err
		}
		_, err = tmp.WriteString(f.content)
		if err == nil {
			err = tmp.Chmod(f.mode)
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), dst)
		}
		if err != nil {
			_ = os.Remove(tmp.Name())
			return nil, err
		}
		args = append(args, "--ro-bind", dst, f.path)
	}
	return args, nil
}
