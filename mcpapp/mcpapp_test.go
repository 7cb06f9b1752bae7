package mcpapp_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/mcpapp"
)

// The embedded page is the built app: one inline module script (the
// bundle), the take-over switch, nothing loaded from anywhere.
func TestHTMLIsSelfContained(t *testing.T) {
	h := mcpapp.HTML()
	require.True(t, strings.HasPrefix(h, "<!DOCTYPE html>"))
	assert.Greater(t, len(h), 100_000, "the bundle (ext-apps, noVNC) is inlined")
	assert.NotContains(t, h, "/*BUNDLE*/", "built, not the template")
	scripts := regexp.MustCompile(`(?i)<script[^>]*>`).FindAllString(h, -1)
	assert.Equal(t, []string{`<script type="module">`}, scripts, "one inline script, no src")
	for _, tag := range []string{"<link", "<img", "<iframe", "<object", "<embed", "<base", "@import"} {
		assert.NotContains(t, strings.ToLower(h), tag)
	}
	assert.Contains(t, h, `id="takeover" role="switch"`)
	assert.Contains(t, h, `id="screen"`)
	assert.Contains(t, h, "ui/initialize", "ext-apps' App is in the bundle")
	assert.Contains(t, h, "websockify")
}

func TestResourceMetaAllowsOnlyTheStreamOrigin(t *testing.T) {
	for base, want := range map[string][]string{
		"http://127.0.0.1:6080":              {"http://127.0.0.1:6080", "ws://127.0.0.1:6080"},
		"https://Desk.example.com/base/path": {"https://desk.example.com", "wss://desk.example.com"},
		"https://desk.example.com:8443":      {"https://desk.example.com:8443", "wss://desk.example.com:8443"},
		"":                                   {},
		"ftp://x.example":                    {},
		"/relative":                          {},
		"https://*.e2b.app":                  {"https://*.e2b.app", "wss://*.e2b.app"},
	} {
		meta := mcpapp.ResourceMeta(base)
		b, err := json.Marshal(meta)
		require.NoError(t, err)
		var got struct {
			UI struct {
				CSP struct {
					ConnectDomains  []string `json:"connectDomains"`
					ResourceDomains []string `json:"resourceDomains"`
					FrameDomains    []string `json:"frameDomains"`
				} `json:"csp"`
			} `json:"ui"`
		}
		require.NoError(t, json.Unmarshal(b, &got))
		assert.Equal(t, want, got.UI.CSP.ConnectDomains, base)
		assert.Empty(t, got.UI.CSP.ResourceDomains, "nothing is loaded from elsewhere")
		assert.Nil(t, got.UI.CSP.FrameDomains, "no frames")
	}
	b, err := json.Marshal(mcpapp.ResourceMeta("http://127.0.0.1:6080", "https://*.e2b.app"))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"connectDomains":["http://127.0.0.1:6080","ws://127.0.0.1:6080","https://*.e2b.app","wss://*.e2b.app"]`)
	b, err = json.Marshal(mcpapp.ResourceMeta())
	require.NoError(t, err)
	assert.Contains(t, string(b), `"connectDomains":[]`, "no stream: nowhere to connect")
	assert.Equal(t, map[string]any{"ui": map[string]any{"resourceUri": "ui://vmservice/desktop"}}, mcpapp.ToolMeta())
}
