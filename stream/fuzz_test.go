package stream

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzStreamAuth: the stream-auth parser (?key= or Authorization: Bearer)
// lets a request through exactly when it presents the stream's key, and the
// stream handler never panics nor answers 5xx, whatever the path, query and
// headers.
func FuzzStreamAuth(f *testing.F) {
	const key = "k3y-0123456789abcdefghij"
	f.Add("/stream/abcdefghijklmnopqrstuvwxyz234567/", "key="+key, "")
	f.Add("/stream/abcdefghijklmnopqrstuvwxyz234567/websockify", "", "Bearer "+key)
	f.Add("/stream/novnc/core/rfb.js", "", "")
	f.Add("/stream/novnc/../../etc/passwd", "key=", "bearer ")
	f.Add("/stream/novnc/.hidden", "key=%00", "Bearer  "+key+" ")
	f.Add("/stream/%2e%2e/", "key="+key+"&key=x", "Basic a2V5")
	s, err := New(Config{Listen: "127.0.0.1:0"})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	e := &entry{key: key, sandboxID: "sb_fuzz"}
	f.Fuzz(func(t *testing.T, path, query, authz string) {
		// The parser and the decision.
		r := &http.Request{Method: "GET", URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		k := keyOf(r)
		w := httptest.NewRecorder()
		okd := s.authorize(w, r, e, strings.HasSuffix(path, "/"))
		if okd != (k == key) {
			t.Fatalf("authorize=%v for presented key %q", okd, k)
		}
		if !okd && w.Code != 401 && w.Code != 403 {
			t.Fatalf("refusal with status %d", w.Code)
		}
		if validToken(path) && len(path) != 32 {
			t.Fatalf("validToken accepted %q", path)
		}
		// The whole handler (no stream registered: nothing may be served
		// but noVNC's own files).
		req := httptest.NewRequest("GET", "http://stream.test/", nil)
		req.URL.Path, req.URL.RawQuery = "/stream/"+strings.TrimPrefix(path, "/stream/"), query
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s -> %d", req.URL, w.Code)
		}
		if w.Code == 200 && !strings.HasPrefix(req.URL.Path, "/stream/"+staticPrefix) {
			t.Fatalf("%s served without a stream", req.URL)
		}
	})
}
