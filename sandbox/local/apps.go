package local

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vmservice/vmservice/sandbox"
)

// app is one launchable application: the names callers use and the
// programs that provide it, best first.
type app struct {
	names    []string
	programs []string
	args     func(program string) []string
}

var chromiumArgs = func(string) []string {
	return []string{"--no-first-run", "--disable-gpu", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--password-store=basic",
		"--user-data-dir=" + homeDir + "/.config/chromium-sandbox"}
}

var apps = []app{
	{names: []string{"firefox", "firefox-esr"}, programs: []string{"firefox-esr", "firefox"}},
	{names: []string{"google-chrome", "chrome", "chromium", "chromium-browser"},
		programs: []string{"google-chrome", "chromium", "chromium-browser"}, args: chromiumArgs},
	{names: []string{"vscode", "code"}, programs: []string{"code"},
		args: func(string) []string { return []string{"--no-sandbox", "--disable-gpu"} }},
	{names: []string{"terminal", "xterm"}, programs: []string{"xterm", "xfce4-terminal", "x-terminal-emulator"}},
	{names: []string{"text-editor", "editor", "mousepad", "gedit"}, programs: []string{"mousepad", "gedit"}},
	{names: []string{"file-manager", "files", "pcmanfm"}, programs: []string{"pcmanfm", "thunar", "nautilus"}},
}

// installed finds the program on the sandbox's PATH. The sandbox's /usr is
// the host's, read-only, so the host's answer is the sandbox's.
func installed(program string) string {
	for _, dir := range filepath.SplitList(sandboxPath) {
		p := filepath.Join(dir, program)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func (a app) program() string {
	for _, p := range a.programs {
		if installed(p) != "" {
			return p
		}
	}
	return ""
}

func availableApps() []string {
	var out []string
	for _, a := range apps {
		if a.program() != "" {
			out = append(out, a.names...)
		}
	}
	sort.Strings(out)
	return out
}

// Applications lists the names Launch accepts here.
func (in *Instance) Applications(context.Context) ([]string, error) {
	return availableApps(), nil
}

// Launch starts an application by common name in the background, with uri
// (a URL or a sandbox path) when given.
func (in *Instance) Launch(ctx context.Context, name, uri string) (*sandbox.LaunchResult, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	var found *app
	for i := range apps {
		for _, n := range apps[i].names {
			if n == key {
				found = &apps[i]
			}
		}
	}
	avail := availableApps()
	if found == nil {
		return nil, sandbox.InvalidArgument("app", "unknown application %q; available: %s", name, strings.Join(avail, ", ")).
			WithDetail("available", avail)
	}
	prog := found.program()
	if prog == "" {
		return nil, sandbox.InvalidArgument("app", "%s is not installed in this sandbox; available: %s", name, strings.Join(avail, ", ")).
			WithDetail("available", avail)
	}
	if strings.ContainsRune(uri, 0) || strings.HasPrefix(uri, "-") {
		return nil, sandbox.InvalidArgument("uri", "uri must be a URL or a path, not an option")
	}
	argv := []string{prog}
	if found.args != nil {
		argv = append(argv, found.args(prog)...)
	}
	if uri != "" {
		argv = append(argv, uri)
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

// seedHome writes the home's initial files (owned by the sandbox uid): the
// default applications for xdg-open, and the working directory when it is
// inside the home.
func (in *Instance) seedHome() error {
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
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
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
