package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{0, 64 * mib, 1000},
		{4 * mib, 64 * mib, 1000}, // capped
		{16 * mib, 64 * mib, 400},
		{32 * mib, 64 * mib, 200},
		{64 * mib, 64 * mib, 100},
		{600 * mib, 64 * mib, 100}, // never below the default
	} {
		if got := Percent(c.live, c.headroom); got != c.want {
			t.Errorf("Percent(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.headroom/mib, got, c.want)
		}
	}
}

// TestStartRetunes: after a collection the tuner has set GOGC from the
// live heap (a small test heap gets the cap).
func TestStartRetunes(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	if !Start(64 << 20) {
		t.Fatal("Start declined")
	}
	if Start(64 << 20) {
		t.Error("second Start took over again")
	}
	debug.SetGCPercent(100) // the next retune must undo this
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		// Reading GOGC means setting it: put 100 back and see what was there.
		if p := debug.SetGCPercent(100); p != 100 {
			if p < 100 || p > 1000 {
				t.Fatalf("GOGC %d out of range", p)
			}
			return
		}
	}
	t.Error("GOGC never retuned after collections")
}
