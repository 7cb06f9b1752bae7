package tools

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README's tool table is generated from the declarations, between
// these markers; UPDATE_TOOLSNAPS=1 go test ./tools rewrites it with the
// snapshots.
const (
	readmePath  = "../README.md"
	readmeBegin = "<!-- tool table: generated from tools/ by `UPDATE_TOOLSNAPS=1 go test ./tools`; do not edit -->\n"
	readmeEnd   = "<!-- end of tool table -->\n"
)

// toolTable renders one row per tool, by toolset (sorted) in declaration
// order: name, the description's first sentence, the hints that matter.
func toolTable(tb *Toolbox) string {
	var b strings.Builder
	b.WriteString("| toolset | tool | what it does | |\n|---|---|---|---|\n")
	for _, set := range AllToolsets {
		for _, t := range tb.tools {
			if t.Toolset != set {
				continue
			}
			var notes []string
			for _, n := range []struct {
				on   bool
				note string
			}{{t.ReadOnly, "read-only"}, {t.Destructive, "destructive"}, {t.OpenWorld, "open world"}, {t.AdminOnly, "admins only"}} {
				if n.on {
					notes = append(notes, n.note)
				}
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", set, t.Name, firstSentence(t.Description), strings.Join(notes, ", "))
		}
	}
	return b.String()
}

// firstSentence ends at a full stop before a capital ("e.g. [" goes on).
func firstSentence(s string) string {
	if m := sentenceEnd.FindStringIndex(s); m != nil {
		s = s[:m[0]+1]
	}
	return strings.ReplaceAll(s, "|", "\\|")
}

var sentenceEnd = regexp.MustCompile(`\. [A-Z]`)

func TestReadmeToolTable(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	i, j := bytes.Index(readme, []byte(readmeBegin)), bytes.Index(readme, []byte(readmeEnd))
	require.True(t, i >= 0 && j > i, "README.md has no tool table markers (%q ... %q)", readmeBegin, readmeEnd)
	want := toolTable(New(Options{}))
	got := string(readme[i+len(readmeBegin) : j])
	if os.Getenv("UPDATE_TOOLSNAPS") == "1" {
		out := append(append(append([]byte{}, readme[:i+len(readmeBegin)]...), want...), readme[j:]...)
		require.NoError(t, os.WriteFile(readmePath, out, 0o644))
		return
	}
	require.Equal(t, want, got, "README.md's tool table is not what tools/ declares: run UPDATE_TOOLSNAPS=1 go test ./tools")
}
