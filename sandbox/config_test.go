package sandbox

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	base := Config{}.WithDefaults(DefaultSettings())
	require.NoError(t, base.Validate())
	assert.Equal(t, DefaultTemplate, base.Template)
	assert.Equal(t, DefaultWorkdir, base.WorkingDirectory)
	assert.Equal(t, DefaultResolution, base.Resolution)
	assert.Equal(t, 300*time.Second, base.Timeout)

	cases := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"cpu too low", func(c *Config) { c.CPUCount = -1 }, "cpu_count"},
		{"cpu too high", func(c *Config) { c.CPUCount = 9 }, "cpu_count"},
		{"memory too low", func(c *Config) { c.MemoryMB = 511 }, "memory_mb"},
		{"memory too high", func(c *Config) { c.MemoryMB = 8193 }, "memory_mb"},
		{"timeout too short", func(c *Config) { c.Timeout = time.Second }, "timeout_seconds"},
		{"timeout too long", func(c *Config) { c.Timeout = 25 * time.Hour }, "timeout_seconds"},
		{"relative workdir", func(c *Config) { c.WorkingDirectory = "home/user" }, "working_directory"},
		{"unclean workdir", func(c *Config) { c.WorkingDirectory = "/home/user/../../etc" }, "working_directory"},
		{"bad env name", func(c *Config) { c.Environment = map[string]string{"1BAD": "x"} }, "environment"},
		{"env with NUL", func(c *Config) { c.Environment = map[string]string{"OK": "a\x00b"} }, "environment"},
		{"tiny screen", func(c *Config) { c.Resolution = Resolution{100, 100} }, "resolution"},
		{"huge screen", func(c *Config) { c.Resolution = Resolution{10000, 768} }, "resolution"},
		{"template with slash", func(c *Config) { c.Template = "../desktop" }, "template"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			err := c.Validate()
			require.Error(t, err)
			se := AsError(err)
			assert.Equal(t, CodeInvalidArgument, se.Code)
			assert.Equal(t, tc.field, se.Details["field"])
			assert.Contains(t, se.Message, tc.field)
		})
	}
}

func TestParseResolution(t *testing.T) {
	r, err := ParseResolution("resolution", "1920x1080")
	require.NoError(t, err)
	assert.Equal(t, Resolution{1920, 1080}, r)
	assert.Equal(t, "1920x1080", r.String())
	for _, bad := range []string{"", "1920", "axb", "1920x", "-1x5", "1920x1080x24"} {
		_, err := ParseResolution("resolution", bad)
		assert.Equal(t, CodeInvalidArgument, CodeOf(err), bad)
	}
}

func TestSettingsNormalize(t *testing.T) {
	s, err := Settings{}.Normalize()
	require.NoError(t, err)
	assert.Equal(t, 10, s.MaxConcurrentSandboxes)
	assert.Equal(t, 10, s.MaxSandboxesPerUser)
	assert.Equal(t, 300*time.Second, s.DefaultTimeout)

	for _, bad := range []Settings{
		{MaxConcurrentSandboxes: -1},
		{MaxSandboxesPerUser: -2},
		{DefaultTimeout: time.Second},
		{DefaultCPU: 20},
		{DefaultMemoryMB: 100},
	} {
		_, err := bad.Normalize()
		assert.Equal(t, CodeInvalidArgument, CodeOf(err), "%+v", bad)
	}
}
