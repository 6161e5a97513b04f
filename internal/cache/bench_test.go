package cache

import (
	"fmt"
	"net/http"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// purgeEntries is the index size of BenchmarkPurge (go test -bench Purge
// -benchtime 1x; bench/cache runs it).
const purgeEntries = 1000000

// BenchmarkPurge times a regex purge of half of a 1M-entry index: a
// memory zone filled through writers, and a disk zone's index (built
// without object files: the purge removes entries from the index and
// unlinks files in the background). One iteration refills the zone.
func BenchmarkPurge(b *testing.B) {
	// The matcher purge jobs use (jobs.Matcher → MatchKey).
	match, _ := MatchKey(`^www\.example\.com/img/`)
	key := func(i int) string {
		return fmt.Sprintf("www.example.com/%s/%07d.png?v=%d", []string{"img", "css"}[i%2], i, i%7)
	}
	b.Run("memory", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			z := openZone(b, KindMemory, "", 4<<30)
			now := time.Now()
			for k := 0; k < purgeEntries; k++ {
				kk := key(k)
				w, _ := z.NewWriter(Meta{Key: kk, URL: "http://" + kk, Method: "GET", Status: 200, Header: http.Header{},
					StoredAt: now, ExpiresAt: now.Add(time.Hour), SWR: -1, SIE: -1}, 0)
				w.Write([]byte("x"))
				w.Commit()
			}
			if n := z.Stats().Entries; n != purgeEntries {
				b.Fatalf("filled %d", n)
			}
			runtime.GC()
			b.StartTimer()
			t0, c0 := time.Now(), cpuTime()
			n := z.Purge(match, nil)
			d, cpu := time.Since(t0), cpuTime()-c0
			b.StopTimer()
			if n != purgeEntries/2 {
				b.Fatalf("purged %d", n)
			}
			b.ReportMetric(d.Seconds(), "s/purge")
			b.ReportMetric(cpu.Seconds(), "cpu-s/purge")
			b.ReportMetric(float64(purgeEntries), "entries")
			z.Close()
		}
	})
	b.Run("disk-index", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			z := openZone(b, KindDisk, b.TempDir(), 1<<50)
			d := z.t.(*diskTier)
			d.mu.Lock()
			for k := 0; k < purgeEntries; k++ {
				d.replayPut(&Entry{skey: key(k), Size: 1, StoredAt: 1, ExpiresAt: 2, gen: d.startGen + uint64(k), SWR: -1, SIE: -1, Status: 200, flags: flagDerivedURL})
			}
			d.mu.Unlock()
			runtime.GC()
			b.StartTimer()
			t0, c0 := time.Now(), cpuTime()
			n := z.Purge(match, nil)
			dur, cpu := time.Since(t0), cpuTime()-c0
			b.StopTimer()
			if n != purgeEntries/2 {
				b.Fatalf("purged %d", n)
			}
			b.ReportMetric(dur.Seconds(), "s/purge")
			b.ReportMetric(cpu.Seconds(), "cpu-s/purge")
			b.ReportMetric(float64(purgeEntries), "entries")
			z.Close() // waits for the background unlinks
		}
	})
}
