package local

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

func TestOptionsValidate(t *testing.T) {
	ok := Options{}
	ok.defaults()
	require.NoError(t, ok.validate())

	cases := []struct {
		name  string
		edit  func(*Options)
		field string
	}{
		{"uid base near root", func(o *Options) { o.UIDBase = 1 }, "local_uid_base"},
		{"uid base among login uids", func(o *Options) { o.UIDBase = 1000 }, "local_uid_base"},
		{"uid range covers nobody", func(o *Options) { o.UIDBase = 65000; o.MaxSlots = 1000 }, "local_uid_base"},
		{"uid base negative", func(o *Options) { o.UIDBase = -5 }, "local_uid_base"},
		{"displays past 65534", func(o *Options) { o.DisplayBase = 65000; o.MaxSlots = 1000 }, "local_display_base"},
		{"negative display base", func(o *Options) { o.DisplayBase = -1 }, "local_display_base"},
		{"no slots", func(o *Options) { o.MaxSlots = -1 }, "local_max_slots"},
		{"cgroup parent escapes", func(o *Options) { o.CgroupParent = "../x" }, "local_cgroup_parent"},
		{"cgroup parent dotdot", func(o *Options) { o.CgroupParent = ".." }, "local_cgroup_parent"},
		{"relative state dir", func(o *Options) { o.StateDir = "state" }, "local_state_dir"},
		{"tiny pids limit", func(o *Options) { o.PidsMax = 3 }, "pids_max"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{}
			o.defaults()
			tc.edit(&o)
			err := o.validate()
			require.Error(t, err)
			assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))
			assert.Equal(t, tc.field, sandbox.AsError(err).Details["field"])
		})
	}
	dotted := Options{CgroupParent: "vmservice.slice"}
	dotted.defaults()
	assert.NoError(t, dotted.validate(), "systemd-style names are fine")

	_, err := New(Options{UIDBase: 1000})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err), "New refuses before touching the machine")
}
