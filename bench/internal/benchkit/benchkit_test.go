package benchkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestNum(t *testing.T) {
	for _, c := range []struct {
		x    float64
		prec int
		want string
	}{
		{999, 0, "999"},
		{1000, 0, "1,000"},
		{1234567, 0, "1,234,567"},
		{-1234567, 0, "-1,234,567"},
		{1234.5, 1, "1234.5"},
	} {
		if got := Num(c.x, c.prec); got != c.want {
			t.Errorf("Num(%v, %d) = %q, want %q", c.x, c.prec, got, c.want)
		}
	}
}

func TestMedianPercentile(t *testing.T) {
	if got := Median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("Median odd = %v", got)
	}
	if got := Median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("Median even = %v", got)
	}
	if Median(nil) != 0 || Percentile(nil, 50) != 0 {
		t.Error("empty input must give 0")
	}
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{0: 1, 50: 50, 99: 99, 100: 100} {
		if got := Percentile(d, p); got != want {
			t.Errorf("Percentile(%v) = %v, want %v", p, got, want)
		}
	}
}

func TestCleanEnv(t *testing.T) {
	t.Setenv("STARGATE_BENCHKIT_TEST", "1")
	t.Setenv("GOGC", "50")
	env := CleanEnv([]string{"STARGATE_", "GOGC="})
	for _, kv := range env {
		if kv == "STARGATE_BENCHKIT_TEST=1" || kv == "GOGC=50" {
			t.Errorf("CleanEnv kept %s", kv)
		}
	}
	if !slices.ContainsFunc(env, func(kv string) bool { return len(kv) > 5 && kv[:5] == "PATH=" }) {
		t.Error("CleanEnv dropped PATH")
	}
}

func TestProc(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	log := filepath.Join(t.TempDir(), "child.log")
	p, err := StartProc("child", log, exec.Command(sh, "-c", "echo started; exec sleep 60"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Alive() || p.WaitErr() != nil {
		t.Fatal("child not running")
	}
	deadline := time.Now().Add(5 * time.Second)
	for ReadFile(log) != "started\n" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := p.Tail(100); got != "started\n" {
		t.Fatalf("Tail = %q", got)
	}
	p.Stop()
	if p.Alive() || p.WaitErr() == nil {
		t.Fatal("child not stopped by SIGTERM")
	}
	var nilProc *Proc
	nilProc.Stop() // must not panic
	_ = os.Remove(log)
}
