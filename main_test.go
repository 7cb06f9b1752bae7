package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfigFlagsAndEnv(t *testing.T) {
	env := map[string]string{
		"VMSERVICE_TRANSPORT":       "http",
		"VMSERVICE_MAX_SANDBOXES":   "7",
		"VMSERVICE_DEFAULT_TIMEOUT": "10m",
		"VMSERVICE_READ_ONLY":       "true",
		"VMSERVICE_LISTEN":          "127.0.0.1:9999",
	}
	c, err := parseConfig([]string{"--max-sandboxes", "3", "--default-timeout", "120"}, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "http", c.Transport, "env fills what the command line leaves")
	assert.Equal(t, 3, c.MaxSandboxes, "the command line wins over env")
	assert.Equal(t, 120*time.Second, c.DefaultTimeout, "plain seconds")
	assert.True(t, c.ReadOnly)
	assert.Equal(t, "127.0.0.1:9999", c.Listen)
	assert.Equal(t, "local", c.StdioUser)

	c, err = parseConfig(nil, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "stdio", c.Transport)
	assert.Equal(t, 300*time.Second, c.DefaultTimeout)
	assert.Equal(t, "default", c.Toolsets)
	s, err := c.settings().Normalize()
	require.NoError(t, err)
	assert.Equal(t, 10, s.MaxConcurrentSandboxes)
	assert.Equal(t, 10, s.MaxSandboxesPerUser)

	_, err = parseConfig([]string{"extra"}, func(string) string { return "" }, io.Discard)
	assert.ErrorContains(t, err, "unexpected argument")
	_, err = parseConfig(nil, func(k string) string {
		if k == "VMSERVICE_DEFAULT_TIMEOUT" {
			return "soon"
		}
		return ""
	}, io.Discard)
	assert.ErrorContains(t, err, "VMSERVICE_DEFAULT_TIMEOUT")
	_, err = parseConfig([]string{"--transport", "sse", "--listen", "[::1]:0", "--allow-unauthenticated"}, func(string) string { return "" }, io.Discard)
	assert.NoError(t, err, "::1 is loopback")
	_, err = parseConfig([]string{"--transport", "sse", "--listen", ":8080", "--allow-unauthenticated"}, func(string) string { return "" }, io.Discard)
	assert.ErrorContains(t, err, "loopback")
	assert.Equal(t, "VMSERVICE_STREAM_PUBLIC_URL", envName("stream-public-url"))
}
