package cache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv makes the test binary a writer that the crash test kills.
const crashChildEnv = "STARGATE_CACHE_CRASH_CHILD"

// crashBody is the body version v of key k: any mix-up of bodies, keys or
// versions shows.
func crashBody(key string, v int) []byte {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", key, v)))
	size := int(sum[0])<<8 | int(sum[1]) // up to 64 KiB
	return bytes.Repeat(sum[:], size/32+1)[:size]
}

// crashChild writes (and deletes) entries in a burst until it is killed.
func crashChild(dir string) {
	z, err := Open(Config{Name: "crash", Kind: KindDisk, Size: 8 << 20, Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("ready")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for v := 0; ; v++ {
		key := fmt.Sprintf("crash.test/obj/%d", r.IntN(400))
		if r.IntN(10) == 0 {
			z.Delete(key)
			continue
		}
		m := Meta{Key: key, URL: "http://" + key, Method: "GET", Status: 200,
			Header:   http.Header{"X-Version": {strconv.Itoa(v)}},
			StoredAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), SWR: -1, SIE: -1}
		w, err := z.NewWriter(m, 0)
		if err != nil {
			continue
		}
		body := crashBody(key, v)
		for len(body) > 0 {
			n := min(len(body), 1+r.IntN(8192))
			w.Write(body[:n])
			body = body[n:]
		}
		w.Commit()
	}
}

// A writer killed with SIGKILL in the middle of a burst never leads to a
// torn or wrong body being served after a restart.
func TestDiskCrashDuringWrites(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("needs SIGKILL")
	}
	rounds := 8
	if testing.Short() {
		rounds = 2
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	served := 0
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, _ := cmd.StdoutPipe()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := out.Read(buf); err != nil || string(buf) != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child did not start: %q %v %s", buf, err, stderr.String())
		}
		time.Sleep(time.Duration(50+r.IntN(400)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		z := openZone(t, KindDisk, dir, 8<<20)
		n, gone := 0, 0
		for _, e := range z.Entries(nil) {
			o, err := z.Open(e)
			if errors.Is(err, ErrGone) {
				// The object's removal reached the disk, its log record
				// did not: a miss, and the entry is dropped.
				gone++
				continue
			}
			if err != nil {
				t.Errorf("round %d: %s: %v", round, e.Key(), err)
				continue
			}
			v, err := strconv.Atoi(o.Header.Get("X-Version"))
			if err != nil {
				t.Fatalf("round %d: %s: no version in %v", round, e.Key(), o.Header)
			}
			b := o.Body(0, o.Size)
			got := make([]byte, o.Size)
			if _, err := ioReadFull(b, got); err != nil {
				t.Fatal(err)
			}
			b.Close()
			if !bytes.Equal(got, crashBody(e.Key(), v)) {
				t.Fatalf("round %d: %s version %d: wrong body (%d bytes)", round, e.Key(), v, len(got))
			}
			n++
		}
		served += n
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: %d entries intact after SIGKILL, %d dangling index entries dropped", round, n, gone)
	}
	if served == 0 {
		t.Error("no entry survived any round")
	}
}
