// Package auth maps transports to principals: who is calling. Stdio has one
// configured principal; HTTP and SSE callers present a bearer token that a
// token table maps to a principal. Tokens are never logged.
package auth

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
)

// Principal is the caller of a request.
type Principal struct {
	// ID is the user id sandboxes are owned by.
	ID string `json:"principal"`
	// Admin principals may act for other users (user_id arguments) and see
	// and clean up everyone's sandboxes.
	Admin bool `json:"admin,omitempty"`
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of ctx and whether there is one.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok && p.ID != ""
}

var principalRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$`)

// ValidPrincipal reports whether id may name a principal (and a user).
func ValidPrincipal(id string) bool { return principalRe.MatchString(id) }

// Tokens maps bearer tokens to principals. Lookups compare hashes in
// constant time, so neither timing nor a log line reveals a token.
type Tokens struct {
	byHash map[[32]byte]Principal
}

// Len is the number of tokens.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.byHash)
}

// Lookup returns the principal of token.
func (t *Tokens) Lookup(token string) (Principal, bool) {
	if t == nil || token == "" {
		return Principal{}, false
	}
	h := sha256.Sum256([]byte(token))
	var found Principal
	ok := false
	for k, p := range t.byHash { // constant work per entry, whatever matches
		if subtle.ConstantTimeCompare(k[:], h[:]) == 1 {
			found, ok = p, true
		}
	}
	return found, ok
}

type jsonToken struct {
	Token     string `json:"token"`
	Principal string `json:"principal"`
	Admin     bool   `json:"admin"`
}

// ParseTokens reads a token table: either JSON (an array of
// {"token","principal","admin"}) or lines of `token principal [admin]`
// (blank lines and # comments ignored). Errors name the line, never the
// token.
func ParseTokens(r io.Reader) (*Tokens, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	t := &Tokens{byHash: map[[32]byte]Principal{}}
	add := func(where, token, principal string, admin bool) error {
		if len(token) < 16 {
			return fmt.Errorf("%s: token is too short (16 characters at least)", where)
		}
		if !ValidPrincipal(principal) {
			return fmt.Errorf("%s: principal %q is not valid (letters, digits, . _ @ : -)", where, principal)
		}
		h := sha256.Sum256([]byte(token))
		if _, dup := t.byHash[h]; dup {
			return fmt.Errorf("%s: duplicate token", where)
		}
		t.byHash[h] = Principal{ID: principal, Admin: admin}
		return nil
	}
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "[") {
		var entries []jsonToken
		if err := json.Unmarshal([]byte(trimmed), &entries); err != nil {
			return nil, fmt.Errorf("tokens: invalid JSON: %v", err)
		}
		for i, e := range entries {
			if err := add(fmt.Sprintf("tokens entry %d", i+1), e.Token, e.Principal, e.Admin); err != nil {
				return nil, err
			}
		}
		return t, nil
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		where := fmt.Sprintf("tokens line %d", n)
		switch {
		case len(f) == 2:
			err = add(where, f[0], f[1], false)
		case len(f) == 3 && f[2] == "admin":
			err = add(where, f[0], f[1], true)
		default:
			err = fmt.Errorf("%s: expected `token principal [admin]`", where)
		}
		if err != nil {
			return nil, err
		}
	}
	return t, sc.Err()
}

// LoadTokens reads the token table from a file.
//
// Like sshd with a private key, it refuses a file other users may read or
// write, or its group may write: the tokens would be anyone's on the
// machine (a sandbox sees the host's world-readable files too).
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tokens file: %v", err)
	}
	if m := st.Mode().Perm(); m&0o027 != 0 {
		return nil, fmt.Errorf("tokens file %s is unprotected (mode %04o: readable or writable by others, or writable by its group); its tokens would be anyone's on this machine: chmod 600 it", path, m)
	}
	return ParseTokens(f)
}

// Merge adds the tokens of o to t (o wins on duplicates).
func (t *Tokens) Merge(o *Tokens) *Tokens {
	if t == nil {
		return o
	}
	if o != nil {
		for k, v := range o.byHash {
			t.byHash[k] = v
		}
	}
	return t
}

// BearerToken extracts the token of an `Authorization: Bearer` header.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
