package e2b

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/e2b/e2btest"
	"github.com/vmservice/vmservice/sandbox"
)

// TestAccessibilityThroughHelper: the helper reads a real mousepad's tree
// in an emulated E2B sandbox and acts on it; without the helper there is
// no tree, and the error says so.
func TestAccessibilityThroughHelper(t *testing.T) {
	e := startEmu(t, e2btest.Options{}, nil)
	in := create(t, newProvider(t, e.options()), nil)
	ctx := context.Background()
	_, err := in.Launch(ctx, "mousepad", "")
	require.NoError(t, err)
	var snap *sandbox.A11ySnapshot
	require.Eventually(t, func() bool {
		snap, err = in.A11ySnapshot(ctx, sandbox.A11yQuery{App: "mousepad"})
		return err == nil && strings.Contains(snap.Text, `menu "File"`)
	}, 90*time.Second, 300*time.Millisecond, "mousepad's tree: %v", err)
	assert.Regexp(t, `window=\d+`, strings.SplitN(snap.Text, "\n", 2)[0], "matched to the display's window through the helper's X connection")

	els, err := in.A11yFind(ctx, sandbox.A11yQuery{Role: "textbox", App: "mousepad"})
	require.NoError(t, err)
	require.Len(t, els, 1)
	res, err := sandbox.A11yDo(ctx, in, in.Desktop(), sandbox.A11yAction{Ref: els[0].Ref, Action: sandbox.A11ySetText, Text: "über E2B ✓"})
	require.NoError(t, err)
	assert.Equal(t, "über E2B ✓", res.Element.Value)
	_, err = in.A11yAct(ctx, sandbox.A11yAction{Ref: "e424242", Action: sandbox.A11yClick})
	assert.Equal(t, sandbox.CodeInvalidArgument, sandbox.CodeOf(err))

	o := e.options()
	o.NoHelper = true
	plain := create(t, newProvider(t, o), nil)
	_, err = plain.A11ySnapshot(ctx, sandbox.A11yQuery{})
	assert.Equal(t, sandbox.CodeBackendUnavailable, sandbox.CodeOf(err))
}
