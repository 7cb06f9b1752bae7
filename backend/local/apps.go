//go:build linux

package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmservice/vmservice/driver/apps"
	"github.com/vmservice/vmservice/sandbox"
)

// installed reports whether the program is on the sandbox's PATH. The
// sandbox's /usr is the host's, read-only, so the host's answer is the
// sandbox's.
func installed(program string) bool {
	for _, dir := range filepath.SplitList(sandboxPath) {
		p := filepath.Join(dir, program)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return true
		}
	}
	return false
}

// Applications lists the names Launch accepts here.
func (in *Instance) Applications(context.Context) ([]string, error) {
	return apps.Available(installed), nil
}

// Launch starts an application by common name in the background, with uri
// (a URL or a sandbox path) when given.
func (in *Instance) Launch(ctx context.Context, name, uri string) (*sandbox.LaunchResult, error) {
	argv, err := apps.Command(name, uri, homeDir, installed)
	if err != nil {
		return nil, err
	}
	p, err := in.Start(ctx, ProcessSpec{Argv: argv, Discard: true})
	if err != nil {
		return nil, err
	}
	return &sandbox.LaunchResult{Command: strings.Join(argv, " "), PID: p.pid}, nil
}

// OpenFile opens a sandbox file with its default application (xdg-open,
// with the mimeapps.list written at create time).
func (in *Instance) OpenFile(ctx context.Context, p string) error {
	p, err := in.filePath(p)
	if err != nil {
		return err
	}
	if _, err := in.fileCall(ctx, &request{Op: opStat, Path: p}); err != nil {
		return err
	}
	_, err = in.Start(ctx, ProcessSpec{Argv: []string{"xdg-open", p}, Discard: true})
	return err
}

// desktopFile returns the first installed .desktop id among ids.
func desktopFile(ids ...string) string {
	for _, id := range ids {
		if _, err := os.Stat(filepath.Join("/usr/share/applications", id)); err == nil {
			return id
		}
	}
	return ""
}

// mimeApps is the home's .config/mimeapps.list: the default applications
// for xdg-open.
func mimeApps() []byte {
	browser := desktopFile("firefox-esr.desktop", "firefox.desktop", "chromium.desktop", "google-chrome.desktop")
	editor := desktopFile("org.xfce.mousepad.desktop", "mousepad.desktop", "org.gnome.gedit.desktop", "gedit.desktop")
	files := desktopFile("pcmanfm.desktop", "thunar.desktop", "org.gnome.Nautilus.desktop")
	var b strings.Builder
	b.WriteString("[Default Applications]\n")
	for _, m := range []struct{ types, id string }{
		{"text/plain;text/x-log;text/markdown;text/x-python;text/x-shellscript;application/json;application/x-shellscript;text/x-csrc", editor},
		{"text/html;application/xhtml+xml;x-scheme-handler/http;x-scheme-handler/https;image/svg+xml;application/pdf", browser},
		{"inode/directory", files},
	} {
		if m.id == "" {
			continue
		}
		for _, t := range strings.Split(m.types, ";") {
			b.WriteString(t + "=" + m.id + "\n")
		}
	}
	return []byte(b.String())
}

// seedHome writes the home's initial files (owned by the sandbox uid):
// mimeApps, and the working directory when it is inside the home.
func (in *Instance) seedHome() error {
	uid := in.slot.uid
	mk := func(rel string) error {
		d := filepath.Join(in.home, rel)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		// Chown every created level up to the home.
		for r := rel; r != "." && r != "/"; r = filepath.Dir(r) {
			if err := os.Chown(filepath.Join(in.home, r), uid, uid); err != nil {
				return err
			}
		}
		return nil
	}
	if err := mk(".config"); err != nil {
		return err
	}
	f := filepath.Join(in.home, ".config", "mimeapps.list")
	if err := os.WriteFile(f, mimeApps(), 0o644); err != nil {
		return err
	}
	if err := os.Chown(f, uid, uid); err != nil {
		return err
	}
	if rel, ok := strings.CutPrefix(in.cfg.WorkingDirectory, homeDir+"/"); ok {
		return mk(rel)
	}
	return nil
}
