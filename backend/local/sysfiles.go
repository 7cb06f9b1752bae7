//go:build linux

package local

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The sandbox's /etc is the host's, bound read-only. A few of its files are
// the sandbox's own instead: written at each boot under the sandbox's
// state directory (root-owned, read-only to the sandbox; a file system of
// its own, so no host path shows in its mountinfo) and bound over the
// host's, so a sandbox never sees the host's accounts or
// host name or machine id, and its desktop starts clean and the same on every machine
// (browsers without first-run tabs or prompts, windows placed for an
// agent).

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
// sandbox's user namespace: files of other owners show as nobody), and a
// machine id of the sandbox's own (the host's would let code in any
// sandbox tell which host it runs on, and that two sandboxes share one).
func identityFiles() []sysFile {
	id := make([]byte, 16)
	rand.Read(id) // never fails (crypto/rand since Go 1.24)
	return []sysFile{
		{"/etc/machine-id", 0o444, hex.EncodeToString(id) + "\n"},
		{"/etc/passwd", 0o644, fmt.Sprintf(
			"root:x:0:0:root:/root:/usr/sbin/nologin\n"+
				"user:x:%d:%d:user:%s:/bin/bash\n"+
				"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", innerUID, innerUID, homeDir)},
		{"/etc/group", 0o644, fmt.Sprintf("root:x:0:\nuser:x:%d:\nnogroup:x:65534:\n", innerUID)},
		// Locked passwords; unreadable to the sandbox user all the same,
		// even to their owner: without root and subordinate uids, the
		// sandbox's uid is the server's, which writes them.
		{"/etc/shadow", 0, "root:*:20000:0:99999:7:::\nuser:*:20000:0:99999:7:::\nnobody:*:20000:0:99999:7:::\n"},
		{"/etc/gshadow", 0, "root:*::\nuser:!::\nnogroup:*::\n"},
		{"/etc/hostname", 0o644, sandboxHostname + "\n"},
		{"/etc/hosts", 0o644, "127.0.0.1\tlocalhost\n127.0.1.1\t" + sandboxHostname + "\n" +
			"::1\tlocalhost ip6-localhost ip6-loopback\n"},
	}
}

// sysBinds writes the sandbox's own system files under dir and returns the
// bubblewrap arguments that bind them: identity and window manager files
// one by one, browser directories as a whole.
func sysBinds(dir string) ([]string, error) {
	files := onHost(append(identityFiles(), openboxFiles()...))
	var args []string
	for _, f := range files {
		args = append(args, "--ro-bind", filepath.Join(dir, f.path), f.path)
	}
	bf, bdirs := browserFiles()
	for _, d := range bdirs {
		args = append(args, "--ro-bind", filepath.Join(dir, d), d)
	}
	if err := writeSysFiles(dir, append(files, bf...)); err != nil {
		return nil, err
	}
	return args, nil
}

// onHost keeps the files the host has as regular files. One it lacks (a
// container image without /etc/machine-id) cannot be bound over, the
// host's /etc being read-only inside, and has nothing of the host's to
// hide; nor does a symlink, whose target bubblewrap would have to find
// inside the sandbox.
func onHost(files []sysFile) []sysFile {
	var have []sysFile
	for _, f := range files {
		if st, err := os.Lstat(f.path); err == nil && st.Mode().IsRegular() {
			have = append(have, f)
		}
	}
	return have
}

// writeSysFiles writes the files under dir (dir/etc/passwd for
// /etc/passwd). Each is replaced atomically: servers sharing a state
// directory may write at once, and a running sandbox keeps what it bound.
func writeSysFiles(dir string, files []sysFile) error {
	for _, f := range files {
		dst := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
		if err != nil {
			return err
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
			return err
		}
	}
	return nil
}

// hostDirFiles copies the regular files of a host directory (a package's
// configuration the sandbox's copy must keep), so the directory can be
// replaced by one with more files. Nil when the directory does not exist.
func hostDirFiles(dir string) []sysFile {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []sysFile
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			continue
		}
		out = append(out, sysFile{filepath.Join(dir, de.Name()), 0o644, string(b)})
	}
	return out
}

// firefoxPrefs start Firefox ESR clean: no first-run, privacy-notice or
// what's-new tabs (the privacy notice loaded from mozilla.org shows
// "Problem loading page" without a network), no data-reporting bar (it
// appeared ~65 s after start and pushed the page down 57 px), no
// default-browser, session-restore, password-saving or translation
// prompts, no sponsored content. Debian's Firefox reads every *.js in
// /etc/firefox-esr as default preferences.
const firefoxPrefs = `// vmservice: a clean browser for agents (backend/local/sysfiles.go)
pref("datareporting.policy.dataSubmissionEnabled", false);
pref("datareporting.policy.dataSubmissionPolicyBypassNotification", true);
pref("datareporting.policy.firstRunURL", "");
pref("datareporting.healthreport.uploadEnabled", false);
pref("toolkit.telemetry.enabled", false);
pref("toolkit.telemetry.unified", false);
pref("toolkit.telemetry.reportingpolicy.firstRun", false);
pref("termsofuse.bypassNotification", true);
pref("browser.preonboarding.enabled", false);
pref("browser.aboutwelcome.enabled", false);
pref("trailhead.firstrun.didSeeAboutWelcome", true);
pref("startup.homepage_welcome_url", "");
pref("startup.homepage_welcome_url.additional", "");
pref("startup.homepage_override_url", "");
pref("browser.startup.homepage_override.mstone", "ignore");
pref("browser.startup.firstrunSkipsHomepage", true);
pref("browser.shell.checkDefaultBrowser", false);
pref("browser.sessionstore.resume_from_crash", false);
pref("browser.sessionstore.max_resumed_crashes", 0);
pref("browser.tabs.warnOnClose", false);
pref("browser.warnOnQuit", false);
pref("browser.uitour.enabled", false);
pref("browser.messaging-system.whatsNewPanel.enabled", false);
pref("messaging-system.rsexperimentloader.enabled", false);
pref("app.shield.optoutstudies.enabled", false);
pref("app.normandy.enabled", false);
pref("browser.discovery.enabled", false);
pref("extensions.pocket.enabled", false);
pref("browser.newtabpage.activity-stream.showSponsored", false);
pref("browser.newtabpage.activity-stream.showSponsoredTopSites", false);
pref("browser.newtabpage.activity-stream.feeds.section.topstories", false);
pref("browser.newtabpage.activity-stream.asrouter.userprefs.cfr.addons", false);
pref("browser.newtabpage.activity-stream.asrouter.userprefs.cfr.features", false);
pref("browser.translations.automaticallyPopup", false);
pref("browser.translations.enable", false);
pref("signon.rememberSignons", false);
pref("extensions.formautofill.addresses.enabled", false);
pref("extensions.formautofill.creditCards.enabled", false);
pref("browser.download.panel.shown", true);
pref("browser.tabs.firefox-view", false);
pref("sidebar.revamp", false);
pref("browser.ml.chat.enabled", false);
pref("app.update.auto", false);
`

// chromiumPolicy is the managed policy for Chromium: the same clean start
// (Debian's Chromium reads /etc/chromium/policies/managed/*.json).
const chromiumPolicy = `{
  "DefaultBrowserSettingEnabled": false,
  "MetricsReportingEnabled": false,
  "PromotionalTabsEnabled": false,
  "PrivacySandboxPromptEnabled": false,
  "PrivacySandboxAdTopicsEnabled": false,
  "PrivacySandboxSiteEnabledAdsEnabled": false,
  "PrivacySandboxAdMeasurementEnabled": false,
  "BrowserSignin": 0,
  "SyncDisabled": true,
  "PasswordManagerEnabled": false,
  "AutofillAddressEnabled": false,
  "AutofillCreditCardEnabled": false,
  "TranslateEnabled": false,
  "BackgroundModeEnabled": false,
  "RestoreOnStartup": 5,
  "SearchSuggestEnabled": false,
  "ShowHomeButton": false
}
`

// chromiumFlags are added to Debian's chromium wrapper, which sources every
// file in /etc/chromium.d: no first-run page or default-browser check, no
// "didn't shut down correctly" bubble after a kill, no keyring prompt
// (there is no keyring daemon).
const chromiumFlags = `# vmservice: a clean browser for agents (backend/local/sysfiles.go)
export CHROMIUM_FLAGS="$CHROMIUM_FLAGS --no-first-run --no-default-browser-check --disable-session-crashed-bubble --password-store=basic --disable-features=Translate,MediaRouter"
`

// browserFiles are the browsers' configuration directories with the files
// above added; each is bound as a whole over the host's (when the browser
// is installed).
func browserFiles() (files []sysFile, dirs []string) {
	for _, d := range []struct {
		dir, name, content string
	}{
		{"/etc/firefox-esr", "vmservice.js", firefoxPrefs},
		{"/etc/chromium", "policies/managed/vmservice.json", chromiumPolicy},
		{"/etc/chromium.d", "vmservice", chromiumFlags},
	} {
		if st, err := os.Stat(d.dir); err != nil || !st.IsDir() {
			continue
		}
		files = append(files, hostDirFiles(d.dir)...)
		files = append(files, sysFile{filepath.Join(d.dir, d.name), 0o644, d.content})
		dirs = append(dirs, d.dir)
	}
	return files, dirs
}

// openboxRulesXML places new windows where an agent can work with them:
// the applications it mostly drives (browsers, editors, file managers,
// office) maximized, every other normal window centred unless it asked for
// a position itself (xterm -geometry +X+Y keeps its place).
const openboxRulesXML = `<applications>
  <application class="*" type="normal"><position force="no"><x>center</x><y>center</y></position></application>
  <application class="Firefox*" type="normal"><maximized>yes</maximized></application>
  <application class="firefox*" type="normal"><maximized>yes</maximized></application>
  <application class="Chromium*" type="normal"><maximized>yes</maximized></application>
  <application class="Google-chrome*" type="normal"><maximized>yes</maximized></application>
  <application class="Mousepad" type="normal"><maximized>yes</maximized></application>
  <application class="Gedit" type="normal"><maximized>yes</maximized></application>
  <application class="Code" type="normal"><maximized>yes</maximized></application>
  <application class="Pcmanfm" type="normal"><maximized>yes</maximized></application>
  <application class="Thunar" type="normal"><maximized>yes</maximized></application>
  <application class="libreoffice*" type="normal"><maximized>yes</maximized></application>
</applications>`

// openboxFiles is Debian's openbox configuration with the window rules
// above and one desktop (with four, a key combination or a wheel turn on
// the background moved the agent to an empty desktop).
func openboxFiles() []sysFile {
	const path = "/etc/xdg/openbox/rc.xml"
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	rc := string(b)
	i, j := strings.Index(rc, "<applications>"), strings.LastIndex(rc, "</applications>")
	k := strings.Index(rc, "<number>4</number>")
	if i < 0 || j < i || k < 0 {
		return nil // not the layout we know: leave the host's alone
	}
	rc = rc[:i] + openboxRulesXML + rc[j+len("</applications>"):]
	rc = strings.Replace(rc, "<number>4</number>", "<number>1</number>", 1)
	return []sysFile{{path, 0o644, rc}}
}
