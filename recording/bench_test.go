package recording_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/backend/local"
	"github.com/vmservice/vmservice/recording"
	"github.com/vmservice/vmservice/sandbox"
)

// BenchmarkRecordingCPU: what recording costs one desktop. One op is one
// second of video; cpu% is ffmpeg's CPU time (user + system, read from
// /proc inside the sandbox) over the wall time, in percent of one core;
// KB/s is the video's size per second. Desktops: idle (a still screen) and
// terminal (an xterm scrolling text without pause, the busy case of real
// work), at 1024x768 and 1920x1080, 5/10/30 fps, medium quality.
//
//	go test -run '^$' -bench RecordingCPU -benchtime 10x ./recording/
func BenchmarkRecordingCPU(b *testing.B) {
	log := zerolog.Nop()
	p, err := local.New(local.Options{Log: log})
	require.NoError(b, err)
	m, err := sandbox.NewManager(p, sandbox.Settings{}, log)
	require.NoError(b, err)
	b.Cleanup(func() { _ = m.Close() })
	svc := recording.New(log)
	b.Cleanup(svc.Close)

	for _, res := range []sandbox.Resolution{{Width: 1024, Height: 768}, {Width: 1920, Height: 1080}} {
		sb, err := m.Create(context.Background(), sandbox.CreateRequest{Owner: "bench", Config: sandbox.Config{Resolution: res}})
		require.NoError(b, err)
		for _, load := range []string{"idle", "terminal"} {
			if load == "terminal" {
				_, err := sb.Instance().Run(context.Background(), sandbox.CommandRequest{Background: true,
					Command: "exec xterm -geometry 200x60+0+0 -e bash -c 'while :; do ls -l --color=always /usr/bin; done'"})
				require.NoError(b, err)
			}
			for _, fps := range []int{5, 10, 30} {
				b.Run(fmt.Sprintf("%s/%s/%dfps", res, load, fps), func(b *testing.B) {
					ctx := context.Background()
					_, err := svc.Start(ctx, sb, recording.Options{FrameRate: fps})
					require.NoError(b, err)
					p0, err := svc.Progress(ctx, sb.ID())
					require.NoError(b, err)
					t0 := time.Now()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						waitFrames(b, svc, sb, p0.Frames+(i+1)*fps)
					}
					p1, err := svc.Progress(ctx, sb.ID())
					require.NoError(b, err)
					wall := time.Since(t0)
					b.StopTimer()
					info, err := svc.Stop(ctx, sb.ID())
					require.NoError(b, err)
					b.ReportMetric((p1.CPUSeconds-p0.CPUSeconds)/wall.Seconds()*100, "cpu%")
					if info.DurationSeconds > 0 {
						b.ReportMetric(float64(info.Bytes)/info.DurationSeconds/1024, "KB/s")
					}
				})
			}
		}
		require.NoError(b, m.Destroy(context.Background(), sb))
	}
}
