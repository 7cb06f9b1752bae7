// Package e2b is the E2B cloud backend: sandboxes are E2B microVMs made
// through E2B's REST control plane and driven through envd, the daemon inside
// each of them (Connect RPC with JSON, plus plain HTTP for file contents).
//
// Configuration is the official SDKs': E2B_API_KEY (required, never
// logged), E2B_DOMAIN (default e2b.app), E2B_API_URL, E2B_SANDBOX_URL (one
// envd address for every sandbox, routed by the E2b-Sandbox-Id header) and
// E2B_DEBUG=true (control plane on localhost:3000, envd on localhost:49983).
// The template defaults to "desktop".
//
// Create makes the sandbox (metadata: the Manager's labels plus
// vmservice.created_by and vmservice.server), starts Xvfb on :0 at the
// configured resolution and the xfce4 session unless a display already
// runs, then uploads cmd/vmhelper and keeps it running: desktop calls go to
// it as JSON lines over envd's SendInput and come back on the process's
// output stream (one round trip, X11 spoken directly inside). When the
// helper cannot start, or dies, the desktop is driven with xdotool and
// scrot commands instead; Details()["input_path"] says which. Streams run
// x11vnc and noVNC inside the sandbox, served on https://6080-ID.DOMAIN.
//
// The emulator in e2btest serves the same APIs over local sandboxes, for
// tests and for the official SDKs (e2e/e2b/run.sh).
package e2b

import (
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Options configure the backend. OptionsFromEnv reads them the way the
// official SDKs do.
type Options struct {
	// APIKey is sent as X-API-Key. It is read from E2B_API_KEY only and is
	// never logged.
	APIKey string
	// Domain is the sandbox domain (E2B_DOMAIN, default e2b.app).
	Domain string
	// APIURL overrides the control plane (E2B_API_URL); default
	// https://api.DOMAIN, or http://localhost:3000 in debug mode.
	APIURL string
	// SandboxURL overrides envd's address for every sandbox
	// (E2B_SANDBOX_URL, as in the official SDKs); requests still carry
	// E2b-Sandbox-Id, so one endpoint can serve many sandboxes. Default
	// https://49983-ID.DOMAIN, or http://localhost:49983 in debug mode.
	SandboxURL string
	// Debug is E2B_DEBUG=true: control plane on localhost:3000, envd on
	// localhost:49983.
	Debug bool
	// Insecure creates sandboxes without envd access tokens (secure=false).
	Insecure bool
	// HelperPath is a prebuilt linux/amd64 vmhelper binary
	// (VMSERVICE_E2B_HELPER). Empty: the one built into this binary.
	HelperPath string
	// NoHelper forces the xdotool/scrot command path (benchmarks, debugging).
	NoHelper bool
	// ServerID names this server in every sandbox's metadata
	// (VMSERVICE_E2B_SERVER_ID, default the host name), so Cleanup after a
	// restart takes down only what this server made, not the sandboxes of
	// other servers sharing the E2B account.
	ServerID string
	// Shared: the replicas of one deployment (one ServerID) share the
	// account and each other's sandboxes (sandbox.Settings.Shared): a
	// stopping or starting server kills none of them (VMSERVICE_SHARED).
	Shared bool
	// Attempts bounds tries of a control-plane call that failed with a
	// transient error (default 4).
	Attempts int
	// HTTPClient is used for every request (default: one with sane dial and
	// header timeouts and no overall timeout, since process streams are long).
	HTTPClient *http.Client
	// Display is the X display inside the sandbox (default ":0", where
	// E2B's desktop template and SDK put it).
	Display string
	// DesktopTimeout bounds bringing the desktop up (default 60 s).
	DesktopTimeout time.Duration
	Log            zerolog.Logger
}

// OptionsFromEnv reads E2B_API_KEY, E2B_DOMAIN, E2B_API_URL, E2B_SANDBOX_URL,
// E2B_DEBUG, VMSERVICE_E2B_HELPER and VMSERVICE_E2B_SERVER_ID.
func OptionsFromEnv() Options {
	return Options{
		APIKey:     os.Getenv("E2B_API_KEY"),
		Domain:     os.Getenv("E2B_DOMAIN"),
		APIURL:     os.Getenv("E2B_API_URL"),
		SandboxURL: os.Getenv("E2B_SANDBOX_URL"),
		Debug:      strings.EqualFold(os.Getenv("E2B_DEBUG"), "true"),
		HelperPath: os.Getenv("VMSERVICE_E2B_HELPER"),
		ServerID:   os.Getenv("VMSERVICE_E2B_SERVER_ID"),
	}
}

func (o Options) withDefaults() Options {
	if o.Domain == "" {
		o.Domain = "e2b.app"
	}
	if o.APIURL == "" {
		if o.Debug {
			o.APIURL = "http://localhost:3000"
		} else {
			o.APIURL = "https://api." + o.Domain
		}
	}
	o.APIURL = strings.TrimRight(o.APIURL, "/")
	if o.SandboxURL == "" && o.Debug {
		o.SandboxURL = "http://localhost:49983"
	}
	o.SandboxURL = strings.TrimRight(o.SandboxURL, "/")
	if o.ServerID == "" {
		o.ServerID, _ = os.Hostname()
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 60 * time.Second
		t.MaxIdleConnsPerHost = 16
		o.HTTPClient = &http.Client{Transport: t}
	}
	if o.Display == "" {
		o.Display = ":0"
	}
	if o.DesktopTimeout <= 0 {
		o.DesktopTimeout = 60 * time.Second
	}
	return o
}

// envdURL is where sandbox id's envd answers.
func (o Options) envdURL(id, domain string) string {
	if o.SandboxURL != "" {
		return o.SandboxURL
	}
	if domain == "" {
		domain = o.Domain
	}
	return "https://49983-" + id + "." + domain
}

// publicURL is the address of port on sandbox id (the proxy's naming).
func (o Options) publicURL(id, domain string, port int) string {
	if domain == "" {
		domain = o.Domain
	}
	return "https://" + itoa(port) + "-" + id + "." + domain
}
