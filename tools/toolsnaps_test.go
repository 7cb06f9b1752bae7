package tools

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snapDir holds one golden file per tool definition (github-mcp-server's
// __toolsnaps__ habit): an unintended schema change fails this test;
// UPDATE_TOOLSNAPS=1 rewrites the files after an intended one.
const snapDir = "../testdata/toolsnaps"

func TestToolSnapshots(t *testing.T) {
	tb := New(Options{})
	update := os.Getenv("UPDATE_TOOLSNAPS") == "1"
	seen := map[string]bool{}
	for _, tool := range tb.All() {
		seen[tool.Name+".json"] = true
		got, err := json.MarshalIndent(tool.MCP(), "", "  ")
		require.NoError(t, err)
		got = append(got, '\n')
		path := filepath.Join(snapDir, tool.Name+".json")
		if update {
			require.NoError(t, os.MkdirAll(snapDir, 0o755))
			require.NoError(t, os.WriteFile(path, got, 0o644))
			continue
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "no snapshot for %s: run UPDATE_TOOLSNAPS=1 go test ./tools -run TestToolSnapshots", tool.Name)
		assert.JSONEq(t, string(want), string(got), "tool %s changed; if intended, run UPDATE_TOOLSNAPS=1 go test ./tools -run TestToolSnapshots", tool.Name)
		assert.True(t, bytes.Equal(want, got), "tool %s: snapshot formatting differs; regenerate with UPDATE_TOOLSNAPS=1", tool.Name)
	}
	files, _ := filepath.Glob(filepath.Join(snapDir, "*.json"))
	for _, f := range files {
		if !seen[filepath.Base(f)] && !update {
			t.Errorf("snapshot %s has no tool any more; delete it or regenerate with UPDATE_TOOLSNAPS=1", f)
		}
	}
}

// Every declaration follows the house pattern: flat object input with
// additionalProperties false, every enum documented, all four hints set,
// a lean object output schema (none for a result of one or two fields).
func TestToolDeclarations(t *testing.T) {
	tb := New(Options{})
	for _, tool := range tb.All() {
		t.Run(tool.Name, func(t *testing.T) {
			mt := tool.MCP()
			b, err := json.Marshal(mt)
			require.NoError(t, err)
			var m struct {
				InputSchema  map[string]any `json:"inputSchema"`
				OutputSchema map[string]any `json:"outputSchema"`
				Annotations  map[string]any `json:"annotations"`
			}
			require.NoError(t, json.Unmarshal(b, &m))
			assert.Equal(t, "object", m.InputSchema["type"])
			assert.Equal(t, false, m.InputSchema["additionalProperties"])
			assert.NotContains(t, m.InputSchema, "$ref")
			assert.NotContains(t, m.InputSchema, "$defs")
			assert.NotContains(t, m.InputSchema, "$schema")
			if m.OutputSchema != nil {
				assert.Equal(t, "object", m.OutputSchema["type"])
				b, _ := json.Marshal(m.OutputSchema)
				assert.NotContains(t, string(b), `"description"`, "output schemas are lean")
				assert.NotContains(t, string(b), `"additionalProperties":false`, "an error result must validate too")
				assert.NotContains(t, string(b), `"required"`, "an error result must validate too")
			}
			for _, h := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} {
				assert.Contains(t, m.Annotations, h)
			}
			assert.NotEmpty(t, mt.Description)
			assert.False(t, tool.ReadOnly && tool.Destructive, "read-only tools cannot be destructive")
			props, _ := m.InputSchema["properties"].(map[string]any)
			for name, p := range props {
				pm, _ := p.(map[string]any)
				if _, isAnyOf := pm["anyOf"]; !isAnyOf {
					assert.NotEmpty(t, pm["type"], "property %s has no type", name)
				}
				items, _ := pm["items"].(map[string]any)
				if pm["enum"] != nil || (items != nil && items["enum"] != nil) {
					assert.NotEmpty(t, pm["description"], "enum property %s is not documented", name)
				}
			}
		})
	}
}

func TestParseToolsets(t *testing.T) {
	all, err := ParseToolsets("all")
	require.NoError(t, err)
	assert.Equal(t, AllToolsets, all)
	got, err := ParseToolsets(" desktop, files ,desktop")
	require.NoError(t, err)
	assert.Equal(t, []string{"desktop", "files"}, got)
	def, err := ParseToolsets("default")
	require.NoError(t, err)
	assert.Equal(t, DefaultToolsets, def)
	assert.NotContains(t, def, "desktop")
	assert.NotContains(t, def, "human", "hand_over needs URL-mode elicitation: opt-in")
	assert.NotContains(t, def, "recording")
	assert.NotContains(t, def, SetUI, "opt-in: its tools do not fit the default tools/list's budget")
	got, err = ParseToolsets("default,desktop,human,recording,ui")
	require.NoError(t, err)
	assert.ElementsMatch(t, AllToolsets, got, "default plus the opt-in toolsets is everything")
	_, err = ParseToolsets("desktop,nope")
	assert.ErrorContains(t, err, "unknown toolset \"nope\"")
	_, err = ParseToolsets("")
	assert.Error(t, err)

	tb := New(Options{})
	for _, tool := range tb.Select(AllToolsets, true) {
		assert.True(t, tool.ReadOnly, tool.Name)
	}
	names := map[string]bool{}
	for _, tool := range tb.Select([]string{SetFiles}, false) {
		names[tool.Name] = true
	}
	assert.Equal(t, map[string]bool{"write_file": true, "read_file": true, "list_files": true, "open_file": true}, names)
}
