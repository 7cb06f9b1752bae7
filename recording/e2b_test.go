package recording_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/e2b"
	"github.com/vmservice/vmservice/backend/e2b/e2btest"
	"github.com/vmservice/vmservice/recording"
	"github.com/vmservice/vmservice/sandbox"
)

// The same recording over the e2b backend (its REST API and E2B's real
// envd, in the emulator's local desktops): ffmpeg starts and stops through
// envd's process calls, the clock offset is measured over envd, and the
// video decodes.
func TestRecordOverE2B(t *testing.T) {
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	lp, bins, err := e2btest.Local(log) // local desktops that run E2B's envd
	require.NoError(t, err)
	t.Cleanup(func() { _ = lp.Close() })
	const key = "e2b_recording_test_key"
	emu := e2btest.New(e2btest.Options{APIKey: key, NewMachine: e2btest.LocalFactory(lp, log), EnvdVersion: bins.Version, Log: log})
	hs := httptest.NewServer(emu.Handler())
	t.Cleanup(func() { hs.CloseClientConnections(); _ = emu.Close(); hs.Close() })
	p, err := e2b.New(e2b.Options{APIKey: key, APIURL: hs.URL, SandboxURL: hs.URL, Log: log})
	require.NoError(t, err)
	m, err := sandbox.NewManager(p, sandbox.Settings{}, log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sb, err := m.Create(ctx, sandbox.CreateRequest{Owner: "u1"})
	require.NoError(t, err)

	svc := newService(t)
	info, err := svc.Start(ctx, sb, recording.Options{FrameRate: 10})
	require.NoError(t, err)
	waitFrames(t, svc, sb, 20)
	fin, err := svc.Stop(ctx, sb.ID())
	require.NoError(t, err)
	assert.Equal(t, recording.ReasonStopped, fin.StopReason)
	assert.Greater(t, fin.CPUSeconds, 0.0)
	p2 := ffprobe(t, fetch(t, sb, info.VideoPath))
	assert.Equal(t, 1024, p2.Streams[0].Width)
	dur, _ := strconv.ParseFloat(p2.Format.Duration, 64)
	assert.GreaterOrEqual(t, dur, 1.9)
}
