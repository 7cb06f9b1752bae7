package apps

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

func have(programs ...string) func(string) bool {
	set := map[string]bool{}
	for _, p := range programs {
		set[p] = true
	}
	return func(p string) bool { return set[p] }
}

func TestCommand(t *testing.T) {
	debian := have("firefox-esr", "firefox", "chromium", "xterm", "x-terminal-emulator", "mousepad", "pcmanfm")
	xfce := have("firefox", "google-chrome", "code", "xfce4-terminal", "gedit", "thunar")
	for _, tc := range []struct {
		name, uri string
		inst      func(string) bool
		want      []string
	}{
		{"firefox", "", debian, []string{"firefox-esr"}},
		{" Firefox ", "about:blank", xfce, []string{"firefox", "about:blank"}},
		{"terminal", "", debian, []string{"xterm"}},
		{"terminal", "", xfce, []string{"xfce4-terminal"}},
		{"text-editor", "/home/user/a b.txt", xfce, []string{"gedit", "/home/user/a b.txt"}},
		{"file-manager", "", debian, []string{"pcmanfm"}},
		{"vscode", "", xfce, []string{"code", "--no-sandbox", "--disable-gpu"}},
		{"chrome", "https://example.com", debian, []string{"chromium", "--no-first-run", "--disable-gpu",
			"--no-default-browser-check", "--force-renderer-accessibility", "--disable-background-networking", "--disable-component-update",
			"--password-store=basic", "--user-data-dir=/home/user/.config/chromium-sandbox", "https://example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			argv, err := Command(tc.name, tc.uri, "/home/user", tc.inst)
			require.NoError(t, err)
			assert.Equal(t, tc.want, argv)
		})
	}
	assert.Equal(t, "google-chrome", Lookup("CHROMIUM-browser").Program(xfce))
}

func TestCommandErrors(t *testing.T) {
	inst := have("xterm", "mousepad")
	avail := []string{"editor", "mousepad", "terminal", "text-editor", "xterm"}
	assert.Equal(t, avail, Available(inst), "gedit is not installed: not offered")
	debian := have("firefox-esr", "chromium", "xterm", "mousepad", "pcmanfm")
	assert.Equal(t, []string{"chrome", "chromium", "editor", "file-manager", "files", "firefox", "firefox-esr", "google-chrome", "mousepad",
		"pcmanfm", "terminal", "text-editor", "xterm"}, Available(debian), "no vscode, gedit, thunar or chromium-browser")

	_, err := Command("no-such-app", "", "/home/user", inst)
	se := sandbox.AsError(err)
	require.NotNil(t, se)
	assert.Equal(t, sandbox.CodeInvalidArgument, se.Code)
	assert.Equal(t, "application", se.Details["field"])
	assert.Equal(t, avail, se.Details["available"])
	assert.Contains(t, se.Message, "unknown application")
	assert.Contains(t, se.Message, "terminal")

	_, err = Command("vscode", "", "/home/user", inst)
	se = sandbox.AsError(err)
	require.NotNil(t, se)
	assert.Contains(t, se.Message, "not installed")
	assert.Equal(t, avail, se.Details["available"])

	for _, uri := range []string{"--evil", "-x", "a\x00b"} {
		_, err = Command("terminal", uri, "/home/user", inst)
		se = sandbox.AsError(err)
		require.NotNil(t, se, uri)
		assert.Equal(t, "uri", se.Details["field"])
	}
}

func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range table {
		require.NotEmpty(t, a.Programs)
		for _, n := range a.Names {
			assert.False(t, seen[n], "name %q twice", n)
			seen[n] = true
			assert.Same(t, Lookup(n), Lookup(n))
		}
	}
	for _, n := range []string{"firefox", "google-chrome", "chrome", "chromium", "vscode", "code", "terminal", "text-editor", "file-manager"} {
		assert.NotNil(t, Lookup(n), n)
	}
	assert.Nil(t, Lookup("emacs"))
	all := Programs()
	for _, a := range table {
		assert.Subset(t, all, a.Programs)
	}
}
