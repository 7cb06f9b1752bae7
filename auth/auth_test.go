package auth

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTokens(t *testing.T) {
	tk, err := ParseTokens(strings.NewReader("# comment\n\nalpha-token-0123456789 alice\nbeta-token-01234567890 ops admin\n"))
	require.NoError(t, err)
	assert.Equal(t, 2, tk.Len())
	p, ok := tk.Lookup("alpha-token-0123456789")
	assert.True(t, ok)
	assert.Equal(t, Principal{ID: "alice"}, p)
	p, ok = tk.Lookup("beta-token-01234567890")
	assert.True(t, ok)
	assert.Equal(t, Principal{ID: "ops", Admin: true}, p)
	_, ok = tk.Lookup("alpha-token-012345678")
	assert.False(t, ok)
	_, ok = tk.Lookup("")
	assert.False(t, ok)

	js, err := ParseTokens(strings.NewReader(`[{"token":"json-token-0123456789","principal":"bob","admin":true}]`))
	require.NoError(t, err)
	p, ok = js.Lookup("json-token-0123456789")
	assert.True(t, ok)
	assert.Equal(t, Principal{ID: "bob", Admin: true}, p)
	merged := tk.Merge(js)
	assert.Equal(t, 3, merged.Len())

	for in, want := range map[string]string{
		"short alice\n":                                        "line 1: token is too short",
		"alpha-token-0123456789 al/ice\n":                      `principal "al/ice" is not valid`,
		"alpha-token-0123456789 alice root\n":                  "line 1: expected",
		"x\nalpha-token-0123456789\n":                          "line 1: expected",
		"a-token-0123456789abcd a\na-token-0123456789abcd b\n": "line 2: duplicate token",
		`[{"token":"x"`:                                        "invalid JSON",
	} {
		_, err := ParseTokens(strings.NewReader(in))
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want)
		assert.NotContains(t, err.Error(), "0123456789", "errors never show a token")
	}
}

func TestBearerAndContext(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	assert.Equal(t, "", BearerToken(r))
	r.Header.Set("Authorization", "bearer abc ")
	assert.Equal(t, "abc", BearerToken(r))
	r.Header.Set("Authorization", "Basic abc")
	assert.Equal(t, "", BearerToken(r))

	_, ok := FromContext(context.Background())
	assert.False(t, ok)
	p, ok := FromContext(WithPrincipal(context.Background(), Principal{ID: "x", Admin: true}))
	assert.True(t, ok)
	assert.True(t, p.Admin)
}

// A tokens file other users could read (or write) is refused, as sshd
// refuses an unprotected private key; 0600 and 0640 load.
func TestLoadTokensRefusesUnprotectedFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(f, []byte("alpha-token-0123456789 alice\n"), 0o600))
	for _, mode := range []os.FileMode{0o644, 0o604, 0o602, 0o660, 0o666} {
		require.NoError(t, os.Chmod(f, mode))
		_, err := LoadTokens(f)
		require.Error(t, err, "mode %04o", mode)
		assert.Contains(t, err.Error(), "chmod 600")
	}
	for _, mode := range []os.FileMode{0o600, 0o640, 0o400} {
		require.NoError(t, os.Chmod(f, mode))
		tk, err := LoadTokens(f)
		require.NoError(t, err, "mode %04o", mode)
		assert.Equal(t, 1, tk.Len())
	}
}
