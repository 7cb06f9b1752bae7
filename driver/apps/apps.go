// Package apps is the one table of the application names launch_application
// accepts ("firefox", "google-chrome", "vscode", "terminal", ...), the
// programs that provide each and the flags they start with. Backends only
// say which programs a sandbox has (the local backend looks at the host's
// /usr, which its sandboxes share; the e2b backend asks the sandbox).
package apps

import (
	"sort"
	"strings"

	"github.com/vmservice/vmservice/sandbox"
)

// AccessibilityEnv is in the environment of every process a sandbox
// starts, so the applications publish their UI tree on the sandbox's AT-SPI
// bus (driver/atspi reads it): GTK 3's atk-bridge is on by default, GTK 2
// applications (pcmanfm) load it as a module (Debian's libatk-adaptor),
// Firefox and Chromium turn theirs on only when told (GNOME_ACCESSIBILITY,
// ACCESSIBILITY_ENABLED), and Qt too.
var AccessibilityEnv = map[string]string{
	"GNOME_ACCESSIBILITY": "1", "ACCESSIBILITY_ENABLED": "1", "GTK2_MODULES": "gail:atk-bridge",
	"QT_ACCESSIBILITY": "1", "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1",
}

// App is one launchable application.
type App struct {
	Names    []string // the names callers use, lower case
	Programs []string // the programs that provide it, best first
	// Flags are the arguments the program starts with, before the URI;
	// home is the sandbox user's home directory.
	Flags func(home string) []string
}

var table = []App{
	{Names: []string{"firefox", "firefox-esr"}, Programs: []string{"firefox-esr", "firefox"}},
	{Names: []string{"google-chrome", "chrome", "chromium", "chromium-browser"},
		Programs: []string{"google-chrome", "chromium", "chromium-browser"},
		Flags: func(home string) []string {
			// No first-run dialogs, no GPU (there is none), nothing fetched
			// in the background, no keyring prompt, a profile of its own;
			// web pages in the accessibility tree (driver/atspi).
			return []string{"--no-first-run", "--disable-gpu", "--no-default-browser-check", "--force-renderer-accessibility",
				"--disable-background-networking", "--disable-component-update", "--password-store=basic",
				"--user-data-dir=" + home + "/.config/chromium-sandbox"}
		}},
	{Names: []string{"vscode", "code"}, Programs: []string{"code"},
		Flags: func(string) []string { return []string{"--no-sandbox", "--disable-gpu"} }},
	{Names: []string{"terminal", "xterm"}, Programs: []string{"xterm", "xfce4-terminal", "x-terminal-emulator"}},
	{Names: []string{"text-editor", "editor", "mousepad", "gedit"}, Programs: []string{"mousepad", "gedit"}},
	{Names: []string{"file-manager", "files", "pcmanfm", "thunar"}, Programs: []string{"pcmanfm", "thunar", "nautilus"}},
}

// Lookup finds the application a name (any case, surrounding spaces
// ignored) stands for; nil when none does.
func Lookup(name string) *App {
	key := strings.ToLower(strings.TrimSpace(name))
	for i := range table {
		for _, n := range table[i].Names {
			if n == key {
				return &table[i]
			}
		}
	}
	return nil
}

// Programs is every program of the table, for a backend that asks a
// sandbox once which of them it has.
func Programs() []string {
	var out []string
	for _, a := range table {
		out = append(out, a.Programs...)
	}
	return out
}

// Program is the first of the application's programs that is installed
// ("" when none is).
func (a *App) Program(installed func(program string) bool) string {
	for _, p := range a.Programs {
		if installed(p) {
			return p
		}
	}
	return ""
}

// Available lists, sorted, the names of every application with an
// installed program: its first name, and the others except the names of
// programs that are not installed (with only mousepad, "gedit" is not
// offered; it still works as a name for the text editor).
func Available(installed func(program string) bool) []string {
	programs := map[string]bool{}
	for _, p := range Programs() {
		programs[p] = true
	}
	var out []string
	for i := range table {
		if table[i].Program(installed) == "" {
			continue
		}
		for j, n := range table[i].Names {
			if j == 0 || !programs[n] || installed(n) {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Command is the command line that launches the application called name
// with uri (a URL or a sandbox path; none when empty) as its last
// argument. An unknown name, an application with nothing installed and a
// uri that would read as an option are INVALID_ARGUMENT errors; the first
// two list the names available.
func Command(name, uri, home string, installed func(program string) bool) ([]string, error) {
	a := Lookup(name)
	if a == nil {
		avail := Available(installed)
		return nil, sandbox.InvalidArgument("application", "unknown application %q; available: %s", name, strings.Join(avail, ", ")).
			WithDetail("available", avail)
	}
	prog := a.Program(installed)
	if prog == "" {
		avail := Available(installed)
		return nil, sandbox.InvalidArgument("application", "%s is not installed in this sandbox; available: %s", name, strings.Join(avail, ", ")).
			WithDetail("available", avail)
	}
	if strings.ContainsRune(uri, 0) || strings.HasPrefix(uri, "-") {
		return nil, sandbox.InvalidArgument("uri", "uri must be a URL or a path, not an option")
	}
	argv := []string{prog}
	if a.Flags != nil {
		argv = append(argv, a.Flags(home)...)
	}
	if uri != "" {
		argv = append(argv, uri)
	}
	return argv, nil
}
