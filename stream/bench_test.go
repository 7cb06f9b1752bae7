package stream_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/driver/vnc/vnctest"
	"github.com/vmservice/vmservice/sandbox"
	"github.com/vmservice/vmservice/stream"
)

// BenchmarkStartToFirstFrame: start_stream on a local sandbox, open the
// WebSocket with the key, VNC-authenticate and receive one full 1024x768
// frame (Raw encoding), then stop_stream. The browser-side numbers
// (first frame on the noVNC canvas, bytes per quality) come from
// e2e/stream/run.sh.
func BenchmarkStartToFirstFrame(b *testing.B) {
	p, err := local.New(local.Options{Log: zerolog.Nop()})
	require.NoError(b, err)
	m, err := sandbox.NewManager(p, sandbox.Settings{}, zerolog.Nop())
	require.NoError(b, err)
	b.Cleanup(func() { _ = m.Close() })
	sb, err := m.Create(context.Background(), sandbox.CreateRequest{Owner: "bench"})
	require.NoError(b, err)
	svc, err := stream.New(stream.Config{Listen: "127.0.0.1:0", Log: zerolog.Nop()})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = svc.ListenAndServe(ctx) }()
	<-svc.Listening()
	b.Cleanup(func() { _ = svc.Close(); cancel() })

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		info, err := svc.Start(ctx, sb, stream.Options{RequireAuth: true})
		require.NoError(b, err)
		nc, st := dialWS(b, info, info.AuthKey)
		require.Equal(b, http.StatusSwitchingProtocols, st)
		cl, _, err := vnctest.Handshake(nc, info.AuthKey)
		require.NoError(b, err)
		_, err = cl.Pixel(1023, 767)
		require.NoError(b, err)
		_ = nc.Close()
		require.NoError(b, svc.Stop(ctx, sb.ID()))
	}
}
