// Package mcpapp holds vmservice's MCP App (the io.modelcontextprotocol/ui
// extension): the live desktop of a sandbox shown inside the conversation
// of an MCP host that supports apps, built on @modelcontextprotocol/ext-apps
// and noVNC.
//
// desktop.html is one self-contained page (no script or style from
// anywhere), built from src/ by build.mjs and embedded in the binary. Its
// CSP metadata lets it reach exactly one origin, the stream service's own
// (the --stream-public-url one when set), over HTTP(S) and WebSocket.
// View-only by default; a "Take over" switch hands the person's mouse and
// keyboard to the sandbox and back.
//
// To rebuild after editing src/: `cd e2e && npm ci && cd .. && node
// mcpapp/build.mjs`; CI runs `node mcpapp/build.mjs --check` (e2e/mcpapp).
package mcpapp

import (
	"context"
	_ "embed"
	"net/url"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// URI is the app's resource; tools link it in _meta.ui.resourceUri.
const URI = "ui://vmservice/desktop"

// MIMEType is the MCP Apps HTML profile.
const MIMEType = "text/html;profile=mcp-app"

// Extension is the MCP Apps extension id (capabilities.extensions).
const Extension = "io.modelcontextprotocol/ui"

// Name, Title and Description describe the resource in resources/list.
const (
	Name        = "desktop"
	Title       = "Sandbox desktop (live)"
	Description = "The live desktop of a sandbox: watch the agent work; switch on Take over to drive it with your own mouse and keyboard, off to hand it back."
)

//go:embed desktop.html
var html string

// HTML is the app's page.
func HTML() string { return html }

// CSP is the app's Content-Security-Policy metadata (_meta.ui.csp).
type CSP struct {
	ConnectDomains  []string `json:"connectDomains"`
	ResourceDomains []string `json:"resourceDomains"`
}

// ResourceMeta is the _meta of the app's resource contents: its CSP names
// the stream origins (each with its WebSocket twin) and nothing else. bases
// are the stream service's base URL (stream.Service.BaseURL) and, on
// backends that serve their own viewer, its origin pattern (e2b:
// https://*.e2b.app); with none, the app may reach nothing.
func ResourceMeta(bases ...string) map[string]any {
	connect := []string{}
	for _, b := range bases {
		connect = append(connect, Origins(b)...)
	}
	csp := CSP{ConnectDomains: connect, ResourceDomains: []string{}}
	return map[string]any{"ui": map[string]any{"csp": csp, "prefersBorder": true}}
}

// Origins is the HTTP(S) origin of base and its ws(s) twin, or none when
// base is not an absolute http(s) URL. A host may be a pattern (*.e2b.app).
func Origins(base string) []string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return []string{}
	}
	ws := "ws"
	if u.Scheme == "https" {
		ws = "wss"
	}
	host := strings.ToLower(u.Host)
	return []string{u.Scheme + "://" + host, ws + "://" + host}
}

// ToolMeta is the _meta a tool carries to open the app on its result.
func ToolMeta() map[string]any {
	return map[string]any{"ui": map[string]any{"resourceUri": URI}}
}

// Register adds the app's resource to s. streamBases is asked at every
// read (the listener's address may be known only once it is up) for the
// origins the app may reach (see ResourceMeta); nil means none.
func Register(s *server.MCPServer, streamBases func() []string) {
	s.AddResource(mcp.NewResource(URI, Name, mcp.WithResourceTitle(Title),
		mcp.WithResourceDescription(Description), mcp.WithMIMEType(MIMEType)),
		func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			var bases []string
			if streamBases != nil {
				bases = streamBases()
			}
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: URI, MIMEType: MIMEType, Text: html,
				Meta: ResourceMeta(bases...)}}, nil
		})
}

// ExtensionSettings are the app extension's settings in the server's
// capabilities.extensions[Extension] (protocol 2026-07-28).
func ExtensionSettings() map[string]any {
	return map[string]any{"mimeTypes": []string{MIMEType}}
}
