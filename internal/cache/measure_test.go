package cache

import (
	"fmt"
	"io"
	"runtime"
	"testing"
)

func ioReadFull(r io.Reader, b []byte) (int, error) { return io.ReadFull(r, b) }

// measureIndex builds a disk index of n entries (no files) and returns the
// heap it costs per entry beyond the key bytes.
func measureIndex(t testing.TB, n int) (float64, int) {
	z := openZone(t, KindDisk, t.TempDir(), 1<<50)
	defer z.Close()
	d := z.t.(*diskTier)
	keys := make([]string, n)
	total := 0
	for i := range keys {
		keys[i] = fmt.Sprintf("www.example.com/static/img/%08d.png?v=%d", i, i%7)
		total += len(keys[i])
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d.mu.Lock()
	for i, k := range keys {
		e := &Entry{skey: k, Size: int64(i), StoredAt: 1, ExpiresAt: 2, gen: uint64(i + 1), SWR: -1, SIE: -1, Status: 200, flags: flagDerivedURL}
		d.replayPut(e)
	}
	d.mu.Unlock()
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	runtime.KeepAlive(keys)
	d.mu.Lock()
	d.reset()
	d.mu.Unlock()
	return per, total / n
}
