package local

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vmservice/vmservice/internal/procfs"
	"github.com/vmservice/vmservice/sandbox"
)

// reportP50 adds the median of ds as a metric (ns/op is the mean).
func reportP50(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkCreate is a cold create: a fresh Xvfb, openbox, bubblewrap and
// agent each time (no pool).
func BenchmarkCreate(b *testing.B) {
	p := newTestProvider(b)
	ctx := context.Background()
	var ds []time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		in, err := p.CreateLocal(ctx, testConfig(), nil)
		ds = append(ds, time.Since(start))
		require.NoError(b, err)
		b.StopTimer()
		require.NoError(b, in.Destroy(ctx))
		b.StartTimer()
	}
	reportP50(b, ds)
}

func BenchmarkDestroy(b *testing.B) {
	p := newTestProvider(b)
	ctx := context.Background()
	var ds []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		in, err := p.CreateLocal(ctx, testConfig(), nil)
		require.NoError(b, err)
		b.StartTimer()
		start := time.Now()
		require.NoError(b, in.Destroy(ctx))
		ds = append(ds, time.Since(start))
	}
	reportP50(b, ds)
}

func BenchmarkRunTrue(b *testing.B) {
	p := newTestProvider(b)
	in := newTestInstance(b, p, nil)
	ctx := context.Background()
	var ds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := in.Run(ctx, sandbox.CommandRequest{Command: "true"})
		ds = append(ds, time.Since(start))
		if err != nil || res.ExitCode != 0 {
			b.Fatal(err, res)
		}
	}
	reportP50(b, ds)
}

// BenchmarkIdleMemory measures one idle sandbox: the sum of the RSS (and of
// the PSS) of all its processes (Xvfb, bubblewrap, agent, openbox) and the
// cgroup's own memory usage.
func BenchmarkIdleMemory(b *testing.B) {
	p := newTestProvider(b)
	for i := 0; i < b.N; i++ {
		in := newTestInstance(b, p, nil)
		time.Sleep(2 * time.Second) // let start-up garbage settle
		var rss, pss int
		for _, pid := range in.cg.pids() {
			dir := "/proc/" + strconv.Itoa(pid)
			r, ps := procfs.StatusKB(dir+"/status", "VmRSS"), procfs.StatusKB(dir+"/smaps_rollup", "Pss")
			comm, _ := os.ReadFile(dir + "/comm")
			b.Logf("%-10s rss %6d kB  anon %6d kB  pss %6d kB", strings.TrimSpace(string(comm)), r, procfs.StatusKB(dir+"/status", "RssAnon"), ps)
			rss += r
			pss += ps
		}
		b.ReportMetric(float64(rss)/1024, "rss-MiB")
		b.ReportMetric(float64(pss)/1024, "pss-MiB")
		b.ReportMetric(float64(len(in.cg.pids())), "processes")
		if !in.cg.v2 {
			if u, err := os.ReadFile(filepath.Join(in.cg.dirs[0], "memory.usage_in_bytes")); err == nil {
				n, _ := strconv.Atoi(strings.TrimSpace(string(u)))
				b.ReportMetric(float64(n)/(1<<20), "cgroup-MiB")
			}
		}
		require.NoError(b, in.Destroy(context.Background()))
	}
}
