package local

import (
	"context"
	"encoding/base64"
	"image"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/driver/imgenc"
	"github.com/vmservice/vmservice/sandbox"
)

// BenchmarkA11ySnapshot compares, on the same screen, an accessibility
// snapshot (whole tree, interactive elements only) with a screenshot (PNG,
// as the screenshot tool sends it by default): latency, bytes, and tokens.
// Text tokens are estimated at 4 bytes per token; an image's at
// width*height/750 (Anthropic's published estimate for vision input).
//
//	go test -run '^$' -bench A11ySnapshot -benchtime 20x ./backend/local/
func BenchmarkA11ySnapshot(b *testing.B) {
	pages := map[string][]byte{}
	for _, f := range []string{"form.html", "article.html"} {
		data, err := os.ReadFile("../../testdata/a11y/" + f)
		require.NoError(b, err)
		pages[f] = data
	}
	for _, c := range []struct {
		name, app, uri, waitRole, waitName string
	}{
		{"mousepad", "mousepad", "/home/user/notes.txt", "textbox", ""},
		{"firefox-form", "firefox", "/home/user/form.html", "button", "Send"},
		{"chromium-form", "chromium", "/home/user/form.html", "button", "Send"},
		{"firefox-article", "firefox", "/home/user/article.html", "heading", "Release notes"},
		{"chromium-article", "chromium", "/home/user/article.html", "heading", "Release notes"},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := newTestProvider(b)
			in := newTestInstance(b, p, nil)
			ctx := context.Background()
			for f, data := range pages {
				require.NoError(b, in.WriteFile(ctx, "/home/user/"+f, data))
			}
			require.NoError(b, in.WriteFile(ctx, "/home/user/notes.txt", []byte(strings.Repeat("Notes from the meeting: ship the snapshot tools.\n", 10))))
			_, err := in.Launch(ctx, c.app, c.uri)
			require.NoError(b, err)
			q := sandbox.A11yQuery{App: c.app}
			require.Eventually(b, func() bool {
				s, err := in.A11ySnapshot(ctx, q)
				return err == nil && snapRef(s.Text, c.waitRole, c.waitName) != ""
			}, 120*time.Second, 300*time.Millisecond)
			for _, v := range []struct {
				name string
				q    sandbox.A11yQuery
			}{{"snapshot", q}, {"snapshot-interactive", sandbox.A11yQuery{App: c.app, Interactive: true}}, {"snapshot-bounds", sandbox.A11yQuery{App: c.app, Bounds: true}}} {
				b.Run(v.name, func(b *testing.B) {
					var n, nodes int
					for i := 0; i < b.N; i++ {
						s, err := in.A11ySnapshot(ctx, v.q)
						require.NoError(b, err)
						n, nodes = len(s.Text), s.Nodes
					}
					b.ReportMetric(float64(nodes), "nodes")
					b.ReportMetric(float64(n), "bytes")
					b.ReportMetric(float64(n)/4, "~tokens")
				})
			}
			b.Run("screenshot-png", func(b *testing.B) {
				var n, w, h int
				for i := 0; i < b.N; i++ {
					img, err := in.Desktop().Screenshot(ctx, image.Rectangle{})
					require.NoError(b, err)
					data, err := imgenc.Encode(img, imgenc.Options{})
					require.NoError(b, err)
					n, w, h = len(data), img.Bounds().Dx(), img.Bounds().Dy()
				}
				b.ReportMetric(float64(n), "bytes")
				b.ReportMetric(float64(base64.StdEncoding.EncodedLen(n)), "b64-bytes")
				b.ReportMetric(float64(w*h)/750, "~tokens")
			})
		})
	}
}
