package sandbox_test

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/sandbox"
)

// BenchmarkCreate is Manager.Create on the local backend served warm (the
// pool full before each create, as on a server idle between requests) and
// cold. bench/run.sh has the full picture; this is the quick one:
//
//	go test -run '^$' -bench Create -benchtime 20x ./sandbox/
func BenchmarkCreate(b *testing.B) {
	for _, tc := range []struct {
		name string
		warm int
	}{{"warm", 1}, {"cold", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newPoolEnv(b, tc.warm, sandbox.Settings{})
			ds := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if tc.warm > 0 {
					e.waitWarm(b, tc.warm)
				}
				b.StartTimer()
				t0 := time.Now()
				sb := e.create(b, "bench", sandbox.Config{})
				ds = append(ds, time.Since(t0))
				b.StopTimer()
				require.NoError(b, e.m.Destroy(ctxT(b), sb))
				b.StartTimer()
			}
			if tc.warm > 0 {
				require.Zero(b, e.pool.Stats().Misses)
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
		})
	}
}
