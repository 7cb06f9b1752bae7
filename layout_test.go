package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// layers rank the folders the way a call travels (CONTRIBUTING.md):
// server -> tools -> SDK -> backends -> drivers.
var layers = map[string]int{"mcpserver": 0, "tools": 1, "resources": 1, "prompts": 1,
	"sandbox": 2, "backend": 3, "driver": 4}

// TestLayout: no package imports one of a layer above it (backends and
// drivers may import the sandbox package itself: the interfaces they
// implement and the vocabulary they speak), and none imports a package
// nested under a package that imports it (as tools once imported
// mcpserver/auth).
func TestLayout(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	require.NoError(t, err)
	const mod = "github.com/vmservice/vmservice/"
	imports := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		pkg := strings.TrimPrefix(f[0], mod)
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, mod) {
				imports[pkg] = append(imports[pkg], strings.TrimPrefix(imp, mod))
			}
		}
	}
	// above[p]: the packages that import p, directly or not.
	above := map[string]map[string]bool{}
	var walk func(from, p string)
	walk = func(from, p string) {
		for _, q := range imports[p] {
			if above[q] == nil {
				above[q] = map[string]bool{}
			}
			if !above[q][from] {
				above[q][from] = true
				walk(from, q)
			}
		}
	}
	for p := range imports {
		walk(p, p)
	}
	rank := func(p string) (int, bool) { r, ok := layers[strings.Split(p, "/")[0]]; return r, ok }
	for a, bs := range imports {
		for _, b := range bs {
			ra, oka := rank(a)
			rb, okb := rank(b)
			if oka && okb && rb < ra && b != "sandbox" {
				t.Errorf("%s imports %s, a layer above it", a, b)
			}
			parts := strings.Split(b, "/")
			for i := 1; i < len(parts); i++ {
				if p := strings.Join(parts[:i], "/"); p != a && above[a][p] {
					t.Errorf("%s imports %s, which sits under %s, a package that imports %s", a, b, p, a)
				}
			}
		}
	}
}
