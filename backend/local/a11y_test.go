package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/testwait"
	"github.com/vmservice/vmservice/sandbox"
)

// The accessibility tests drive real applications in real sandboxes
// through the accessibility tree only (snapshot text, references and
// element actions): no coordinates, no key presses of their own.

// snapRef finds the reference of the first line of a snapshot with that
// role whose name contains name ("" for a line without a name), and not
// [disabled].
func snapRef(snap, role, name string) string {
	re := regexp.MustCompile(`(?m)^\s*(e\d+) ` + regexp.QuoteMeta(role) + `(?: "((?:[^"\\]|\\.)*)")?(.*)$`)
	for _, m := range re.FindAllStringSubmatch(snap, -1) {
		if ((name == "" && m[2] == "") || (name != "" && strings.Contains(m[2], name))) && !strings.Contains(m[3], "disabled") {
			return m[1]
		}
	}
	return ""
}

// waitSnapshot polls snapshots of q until one has a line for role and
// name, and returns it with that line's reference.
func waitSnapshot(t *testing.T, in *Instance, q sandbox.A11yQuery, role, name string) (string, string) {
	t.Helper()
	var snap, ref string
	testwait.Until(t, 90*time.Second, fmt.Sprintf("a %s %q in the snapshot", role, name), func() error {
		s, err := in.A11ySnapshot(context.Background(), q)
		if err != nil {
			return err
		}
		if snap, ref = s.Text, snapRef(s.Text, role, name); ref == "" {
			return fmt.Errorf("not in the last snapshot:\n%s", snap)
		}
		return nil
	})
	return snap, ref
}

func act(t *testing.T, in *Instance, ref, action, text string) *sandbox.A11yActResult {
	t.Helper()
	// What needs the pointer or the keyboard is done as Sandbox.A11yAct
	// does, on the instance's own desktop.
	res, err := sandbox.A11yDo(context.Background(), in, in.Desktop(), sandbox.A11yAction{Ref: ref, Action: action, Text: text})
	require.NoError(t, err, "%s %s", action, ref)
	t.Logf("%s %s: %s", action, ref, res.Done)
	return res
}

// TestA11yMousepadSaveThroughMenu writes text into mousepad and saves it
// through File > Save As, its dialog's name field and Save button, all
// found in snapshots.
func TestA11yMousepadSaveThroughMenu(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	ctx := context.Background()
	_, err := in.Launch(ctx, "mousepad", "")
	require.NoError(t, err)
	q := sandbox.A11yQuery{App: "mousepad"}
	snap, file := waitSnapshot(t, in, q, "menu", "File")
	text := snapRef(snap, "textbox", "")
	require.NotEmpty(t, text, snap)
	const content = "héllo wörld ☃\nline two 東京"
	res := act(t, in, text, sandbox.A11ySetText, content)
	assert.Equal(t, "set_text", res.Done)
	assert.Equal(t, "héllo wörld ☃ line two 東京", res.Element.Value, "the value as the snapshot shows it")

	act(t, in, file, sandbox.A11yClick, "")
	snap, saveAs := waitSnapshot(t, in, q, "menuitem", "Save As")
	assert.Equal(t, file, snapRef(snap, "menu", "File"), "a reference stays with its element across snapshots")
	act(t, in, saveAs, sandbox.A11yClick, "")
	snap, name := waitSnapshot(t, in, q, "textbox", "Name")
	t.Logf("the Save As dialog:\n%s", snap)
	act(t, in, name, sandbox.A11ySetText, "/home/user/a11y-saved.txt")
	_, save := waitSnapshot(t, in, q, "button", "Save")
	act(t, in, save, sandbox.A11yClick, "")
	require.Eventually(t, func() bool {
		b, err := in.ReadFile(ctx, "/home/user/a11y-saved.txt", 1<<20)
		return err == nil && string(b) == content+"\n" || string(b) == content
	}, 60*time.Second, 200*time.Millisecond, "the file mousepad saved")
	waitSnapshot(t, in, q, "frame", "a11y-saved.txt")

	// The dialog is gone: its references say so.
	_, err = in.A11yAct(ctx, sandbox.A11yAction{Ref: name, Action: sandbox.A11yFocus})
	require.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err), "%v", err)
	assert.Contains(t, err.Error(), "take a new snapshot")
	for _, bad := range []string{"e99999999", "12", "", "e1x"} {
		_, err = in.A11yAct(ctx, sandbox.A11yAction{Ref: bad, Action: sandbox.A11yClick})
		assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err), "ref %q: %v", bad, err)
	}
	_, err = in.A11yAct(ctx, sandbox.A11yAction{Ref: file, Action: "explode"})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	_, err = in.A11yAct(ctx, sandbox.A11yAction{Ref: file, Action: sandbox.A11ySetText, Text: "x"})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err), "a menu is not editable")
}

// TestA11yXtermHasNoTree: xterm publishes no accessibility tree; the
// desktop snapshot lists its window as such and a snapshot of it says so.
func TestA11yXtermHasNoTree(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	ctx := context.Background()
	_, err := in.Launch(ctx, "xterm", "")
	require.NoError(t, err)
	var ids []sandbox.WindowID
	require.Eventually(t, func() bool {
		ids, err = in.Desktop().ApplicationWindows(ctx, "xterm")
		return err == nil && len(ids) == 1
	}, 60*time.Second, 200*time.Millisecond)
	s, err := in.A11ySnapshot(ctx, sandbox.A11yQuery{})
	require.NoError(t, err)
	require.Len(t, s.NoAccessibility, 1, s.Text)
	assert.Equal(t, ids[0], s.NoAccessibility[0].ID)
	assert.Contains(t, s.Text, "no accessibility tree")
	_, err = in.A11ySnapshot(ctx, sandbox.A11yQuery{Window: ids[0]})
	se := sandbox.AsError(err)
	require.NotNil(t, se)
	assert.Equal(t, sandbox.CodeInvalidArgument, se.Code)
	assert.Equal(t, "no_accessibility", se.Details["reason"])
	assert.Contains(t, se.Message, "xterm")
	_, err = in.A11ySnapshot(ctx, sandbox.A11yQuery{Window: 12345})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err), "no such window")
}

// formServerEnv makes the test binary, started inside a sandbox, a small
// web server: GET / is the form of testdata/a11y (its path inside the
// sandbox is the variable's value), a POST to /submit prints the posted
// fields as one JSON line on stdout.
const formServerEnv = "VMSERVICE_A11Y_TEST_FORM"

func init() {
	if f := os.Getenv(formServerEnv); f != "" {
		os.Exit(formServer(f))
	}
}

func formServer(form string) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var mu sync.Mutex
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, form)
	})
	http.HandleFunc("/submit", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b, _ := json.Marshal(r.PostForm)
		mu.Lock()
		fmt.Printf("POST %s\n", b)
		mu.Unlock()
		fmt.Fprint(w, "<!doctype html><title>received</title><h1>Received</h1>")
	})
	fmt.Printf("LISTEN %d\n", l.Addr().(*net.TCPAddr).Port)
	return func() int { _ = http.Serve(l, nil); return 1 }()
}

// startFormServer copies the form into the sandbox and starts the server;
// it returns the form's URL and the posted forms as they come.
func startFormServer(t *testing.T, in *Instance) (string, <-chan map[string][]string) {
	t.Helper()
	ctx := context.Background()
	form, err := os.ReadFile("../../testdata/a11y/form.html")
	require.NoError(t, err)
	require.NoError(t, in.WriteFile(ctx, "/home/user/form.html", form))
	port := make(chan string, 1)
	posts := make(chan map[string][]string, 4)
	var mu sync.Mutex
	var buf strings.Builder
	_, err = in.Start(ctx, ProcessSpec{Argv: []string{"form-server"}, self: true, Env: map[string]string{formServerEnv: "/home/user/form.html"},
		OnOutput: func(stream string, b []byte) {
			if stream != "stdout" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			buf.Write(b)
			for {
				s := buf.String()
				i := strings.IndexByte(s, '\n')
				if i < 0 {
					return
				}
				line := s[:i]
				buf.Reset()
				buf.WriteString(s[i+1:])
				if p, ok := strings.CutPrefix(line, "LISTEN "); ok {
					port <- p
				} else if p, ok := strings.CutPrefix(line, "POST "); ok {
					var m map[string][]string
					if json.Unmarshal([]byte(p), &m) == nil {
						posts <- m
					}
				}
			}
		}})
	require.NoError(t, err)
	select {
	case p := <-port:
		return "http://127.0.0.1:" + p + "/", posts
	case <-time.After(60 * time.Second):
		t.Fatal("the form server did not start")
	}
	return "", nil
}

// TestA11yBrowserForm fills the same form in Firefox and in Chromium with
// snapshots and element actions only, and checks what the browser posted.
func TestA11yBrowserForm(t *testing.T) {
	for _, browser := range []string{"firefox", "chromium"} {
		t.Run(browser, func(t *testing.T) {
			p := newTestProvider(t)
			in := newTestInstance(t, p, nil)
			ctx := context.Background()
			url, posts := startFormServer(t, in)
			_, err := in.Launch(ctx, browser, url)
			require.NoError(t, err)
			q := sandbox.A11yQuery{App: browser}
			// The page loaded: its title names the document, the select has
			// its label (a page still loading shows neither).
			waitSnapshot(t, in, q, "document", "vmservice form")
			snap, _ := waitSnapshot(t, in, q, "combobox", "City")
			t.Logf("%s:\n%s", browser, snap)
			act(t, in, snapRef(snap, "textbox", "Full name"), sandbox.A11ySetText, "Zoë Ångström-Łukasiewicz")
			act(t, in, snapRef(snap, "textbox", "Nickname"), sandbox.A11yType, "naïve 東京 ☃")
			act(t, in, snapRef(snap, "textbox", "Notes"), sandbox.A11ySetText, "Grüße\nzweite Zeile")
			act(t, in, snapRef(snap, "combobox", "City"), sandbox.A11ySelect, "東京")
			act(t, in, snapRef(snap, "checkbox", "I agree"), sandbox.A11yClick, "")
			snap, _ = waitSnapshot(t, in, q, "checkbox", "I agree")
			t.Logf("%s filled:\n%s", browser, snap)
			act(t, in, snapRef(snap, "button", "Send"), sandbox.A11yClick, "")
			select {
			case got := <-posts:
				for k, v := range got {
					for i := range v {
						v[i] = strings.ReplaceAll(v[i], "\r\n", "\n")
					}
					got[k] = v
				}
				assert.Equal(t, map[string][]string{
					"name": {"Zoë Ångström-Łukasiewicz"}, "nick": {"naïve 東京 ☃"}, "city": {"東京"},
					"agree": {"yes"}, "notes": {"Grüße\nzweite Zeile"},
				}, got)
			case <-time.After(60 * time.Second):
				s, _ := in.A11ySnapshot(ctx, q)
				t.Fatalf("%s posted nothing; snapshot:\n%s", browser, s.Text)
			}
		})
	}
}

// TestA11yFileManagerLists: pcmanfm's folder view, read from the tree,
// lists the folder's files.
func TestA11yFileManagerLists(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	ctx := context.Background()
	names := []string{"alpha.txt", "beta-données.csv", "gamma 東京.md"}
	for _, n := range names {
		require.NoError(t, in.WriteFile(ctx, "/home/user/docs/"+n, []byte(n)))
	}
	_, err := in.Launch(ctx, "file-manager", "/home/user/docs")
	require.NoError(t, err)
	q := sandbox.A11yQuery{App: "pcmanfm"}
	snap, _ := waitSnapshot(t, in, q, "img", names[2])
	t.Logf("pcmanfm:\n%s", snap)
	var refs []string
	for _, n := range names {
		ref := snapRef(snap, "img", n)
		assert.NotEmpty(t, ref, "%s is listed", n)
		refs = append(refs, ref)
	}
	assert.Contains(t, snap, `"3 items"`)
	// Selecting a file selects it in the view.
	res := act(t, in, refs[1], sandbox.A11ySelect, "")
	assert.Contains(t, res.Element.States, "selected")
	// A search finds the files by role and name.
	els, err := in.A11yFind(ctx, sandbox.A11yQuery{App: "pcmanfm", Role: "img", Name: "DONNÉES"})
	require.NoError(t, err)
	require.Len(t, els, 1)
	assert.Equal(t, refs[1], els[0].Ref)
	assert.Equal(t, names[1], els[0].Name)
	assert.Equal(t, "docs", els[0].Window)
	require.NotNil(t, els[0].Bounds)
	assert.Greater(t, els[0].Bounds.W, 0)
}

// TestA11ySnapshotFilters: one window, interactive elements only, depth,
// size bound, bounds, and the errors of a bad scope.
func TestA11ySnapshotFilters(t *testing.T) {
	p := newTestProvider(t)
	in := newTestInstance(t, p, nil)
	ctx := context.Background()
	_, err := in.Launch(ctx, "mousepad", "")
	require.NoError(t, err)
	full, _ := waitSnapshot(t, in, sandbox.A11yQuery{}, "menu", "File")
	ids, err := in.Desktop().ApplicationWindows(ctx, "mousepad")
	require.NoError(t, err)
	require.Len(t, ids, 1)

	s, err := in.A11ySnapshot(ctx, sandbox.A11yQuery{Window: ids[0]})
	require.NoError(t, err)
	first, _, _ := strings.Cut(s.Text, "\n")
	assert.Contains(t, first, fmt.Sprintf("window=%d", ids[0]))
	assert.Equal(t, snapRef(full, "menu", "File"), snapRef(s.Text, "menu", "File"), "the only window is the whole desktop")

	s, err = in.A11ySnapshot(ctx, sandbox.A11yQuery{Interactive: true})
	require.NoError(t, err)
	assert.NotEmpty(t, snapRef(s.Text, "menu", "File"))
	assert.NotEmpty(t, snapRef(s.Text, "textbox", ""))
	assert.NotContains(t, s.Text, " tablist")
	assert.Less(t, len(s.Text), len(full))

	s, err = in.A11ySnapshot(ctx, sandbox.A11yQuery{MaxDepth: 1})
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSpace(s.Text), "\n")[1:] {
		assert.True(t, strings.HasPrefix(l, "  e"), "depth 1 only: %q", l)
	}

	s, err = in.A11ySnapshot(ctx, sandbox.A11yQuery{MaxBytes: 150})
	require.NoError(t, err)
	assert.True(t, s.Truncated)
	body, _, _ := strings.Cut(s.Text, "…")
	assert.LessOrEqual(t, len(body), 150)

	s, err = in.A11ySnapshot(ctx, sandbox.A11yQuery{Bounds: true})
	require.NoError(t, err)
	m := regexp.MustCompile(`menu "File" @(\d+),(\d+),(\d+),(\d+)`).FindStringSubmatch(s.Text)
	require.NotNil(t, m, s.Text)
	els, err := in.A11yFind(ctx, sandbox.A11yQuery{Role: "menu", Name: "file"})
	require.NoError(t, err)
	require.Len(t, els, 1)
	assert.Equal(t, fmt.Sprintf("%d,%d,%d,%d", els[0].Bounds.X, els[0].Bounds.Y, els[0].Bounds.W, els[0].Bounds.H), strings.Join(m[1:], ","))
	assert.Contains(t, els[0].Actions, "click")

	_, err = in.A11ySnapshot(ctx, sandbox.A11yQuery{App: "no-such-app"})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
	_, err = in.A11yFind(ctx, sandbox.A11yQuery{})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err), "a search needs a role or a name")
	_, err = in.A11ySnapshot(ctx, sandbox.A11yQuery{MaxDepth: -1})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))

	// The driver killed (a hostile application could make it die): the
	// next call starts a new one; the references of the old one are gone.
	in.a11y.mu.Lock()
	pid := in.a11y.proc.PID()
	in.a11y.mu.Unlock()
	require.NoError(t, in.Kill(ctx, pid))
	require.Eventually(t, func() bool {
		_, err := in.A11ySnapshot(ctx, sandbox.A11yQuery{})
		return err == nil
	}, 60*time.Second, 100*time.Millisecond, "a new driver answers")
	s, err = in.A11ySnapshot(ctx, sandbox.A11yQuery{})
	require.NoError(t, err)
	file := snapRef(s.Text, "menu", "File")
	assert.NotEqual(t, els[0].Ref, file, "a new driver gives new references")
	_, err = in.A11yAct(ctx, sandbox.A11yAction{Ref: els[0].Ref, Action: sandbox.A11yFocus})
	require.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err), "%v", err)
	assert.Contains(t, err.Error(), "take a new snapshot")
}

// TestA11yOffscreenElement: an element below the fold of a long page is in
// the snapshot, marked offscreen; clicking it scrolls it into view first.
func TestA11yOffscreenElement(t *testing.T) {
	for _, browser := range []string{"firefox", "chromium"} {
		t.Run(browser, func(t *testing.T) {
			p := newTestProvider(t)
			in := newTestInstance(t, p, nil)
			ctx := context.Background()
			page, err := os.ReadFile("../../testdata/a11y/article.html")
			require.NoError(t, err)
			require.NoError(t, in.WriteFile(ctx, "/home/user/article.html", page))
			_, err = in.Launch(ctx, browser, "/home/user/article.html")
			require.NoError(t, err)
			q := sandbox.A11yQuery{App: browser}
			snap, box := waitSnapshot(t, in, q, "checkbox", "Weekly digest")
			require.Regexp(t, `checkbox "Weekly digest" \[offscreen\]`, snap)
			res := act(t, in, box, sandbox.A11yClick, "")
			assert.Equal(t, "pointer", res.Done, "scrolled into view, then clicked")
			assert.NotContains(t, res.Element.States, "offscreen")
			require.Eventually(t, func() bool {
				els, err := in.A11yFind(ctx, sandbox.A11yQuery{App: browser, Role: "checkbox", Name: "Weekly digest"})
				return err == nil && len(els) == 1 && slices.Contains(els[0].States, "checked")
			}, 60*time.Second, 200*time.Millisecond, "the box is checked")
		})
	}
}
