package tools

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// playwrightDefaultBytes is what tools/list of Playwright MCP's default
// surface costs a client: @playwright/mcp 0.0.83, 25 tools, the compact
// JSON of the result as the MCP Inspector CLI receives it (bench/toolslist.sh
// measures both servers with that client).
const playwrightDefaultBytes = 20296

// toolsListBytes is the compact JSON of a tools/list result holding ts, as
// a client receives it (no HTML escaping: JavaScript's JSON does none).
func toolsListBytes(t *testing.T, ts []*Tool) int {
	var list []mcp.Tool
	for _, tool := range ts {
		if !tool.AdminOnly { // not listed to others
			list = append(list, tool.MCP())
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(map[string]any{"tools": list}))
	// The encoder re-encodes raw schemas with escaping; undo it the way the
	// client's parser would.
	var v any
	require.NoError(t, json.Unmarshal(b.Bytes(), &v))
	b.Reset()
	require.NoError(t, enc.Encode(v))
	return b.Len() - 1 // the encoder's newline
}

// The default surface (what an agent gets with no flags) costs no more
// than Playwright MCP's default. A new default tool must fit: trim, or put
// it in a toolset outside the default (--toolsets all reaches it).
func TestToolsListBudget(t *testing.T) {
	tb := New(Options{})
	n := toolsListBytes(t, tb.Select(DefaultToolsets, false))
	t.Logf("default tools/list: %d bytes (Playwright MCP default: %d); all toolsets: %d bytes",
		n, playwrightDefaultBytes, toolsListBytes(t, tb.Select(AllToolsets, false)))
	assert.LessOrEqual(t, n, playwrightDefaultBytes, "the default tools/list grew past Playwright MCP's default")
	assert.NotContains(t, DefaultToolsets, SetDesktop, "one default way to drive the desktop: computer")
	assert.Contains(t, DefaultToolsets, SetComputer)
}
