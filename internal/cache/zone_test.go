package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stargate-edge/stargate/internal/cache/httpcache"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild(os.Getenv(crashChildEnv))
		return
	}
	goleak.VerifyTestMain(m)
}

func openZone(t testing.TB, kind, dir string, size int64) *Zone {
	t.Helper()
	z, err := Open(Config{Name: "z", Kind: kind, Size: size, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func meta(key string, h http.Header) Meta {
	now := time.Now()
	if h == nil {
		h = http.Header{}
	}
	return Meta{Key: key, URL: "http://" + key, Method: "GET", Status: 200, Header: h,
		StoredAt: now, ExpiresAt: now.Add(time.Minute), SWR: -1, SIE: -1}
}

func store(t testing.TB, z *Zone, m Meta, body []byte) *Entry {
	t.Helper()
	w, err := z.NewWriter(m, 0)
	if err != nil {
		t.Fatal(err)
	}
	for len(body) > 0 {
		n := min(len(body), 1000)
		if _, err := w.Write(body[:n]); err != nil {
			t.Fatal(err)
		}
		body = body[n:]
	}
	e, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func read(t testing.TB, z *Zone, e *Entry) (http.Header, string) {
	t.Helper()
	o, err := z.Open(e)
	if err != nil {
		t.Fatalf("open %s: %v", e.Key(), err)
	}
	b := o.Body(0, o.Size)
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return o.Header, string(data)
}

func kinds(t *testing.T, f func(t *testing.T, kind string, dir string)) {
	for _, k := range []string{KindMemory, KindDisk} {
		t.Run(k, func(t *testing.T) { f(t, k, t.TempDir()) })
	}
}

func TestStoreLookupDelete(t *testing.T) {
	kinds(t, func(t *testing.T, kind, dir string) {
		z := openZone(t, kind, dir, 1<<20)
		defer z.Close()
		store(t, z, meta("example.com/a?x=1", http.Header{"Content-Type": {"text/plain"}, "Etag": {`"1"`}}), []byte("hello"))
		e := z.Lookup("example.com/a?x=1", nil)
		if e == nil || e.Size != 5 || e.Key() != "example.com/a?x=1" || e.URL() != "http://example.com/a?x=1" || e.Method() != "GET" || !e.HasValidators() {
			t.Fatalf("entry %+v", e)
		}
		h, body := read(t, z, e)
		if body != "hello" || h.Get("Content-Type") != "text/plain" || h.Get("Content-Length") != "5" {
			t.Errorf("read %v %q", h, body)
		}
		if s := z.Stats(); s.Entries != 1 || s.Used <= 5 || s.Kind != kind {
			t.Errorf("stats %+v", s)
		}
		// Replacing keeps one entry.
		store(t, z, meta("example.com/a?x=1", nil), []byte("world!"))
		if _, body := read(t, z, z.Lookup("example.com/a?x=1", nil)); body != "world!" || z.Stats().Entries != 1 {
			t.Errorf("replace: %q %+v", body, z.Stats())
		}
		if !z.Delete("example.com/a?x=1") || z.Delete("example.com/a?x=1") || z.Lookup("example.com/a?x=1", nil) != nil {
			t.Error("delete")
		}
		if s := z.Stats(); s.Entries != 0 || s.Used != 0 {
			t.Errorf("after delete %+v", s)
		}
		// A URL that is not scheme + key is kept as is.
		m := meta("k1#consumer=jack", nil)
		m.URL = "https://example.com/p"
		e = store(t, z, m, []byte("x"))
		if e.URL() != "https://example.com/p" || e.HostPath() != "example.com/p" {
			t.Errorf("url %q", e.URL())
		}
	})
}

func TestVaryVariants(t *testing.T) {
	kinds(t, func(t *testing.T, kind, dir string) {
		z := openZone(t, kind, dir, 1<<20)
		defer z.Close()
		vary := []string{"Accept-Encoding"}
		for _, enc := range []string{"gzip", "br"} {
			m := meta("h/v", http.Header{"Vary": {"Accept-Encoding"}})
			m.Vary = vary
			m.Variant = variant(vary, http.Header{"Accept-Encoding": {enc}})
			store(t, z, m, []byte("body-"+enc))
		}
		for _, enc := range []string{"gzip", "br"} {
			e := z.Lookup("h/v", http.Header{"Accept-Encoding": {enc}})
			if e == nil {
				t.Fatalf("no variant %s", enc)
			}
			if _, b := read(t, z, e); b != "body-"+enc {
				t.Errorf("variant %s: %q", enc, b)
			}
		}
		if z.Lookup("h/v", http.Header{"Accept-Encoding": {"zstd"}}) != nil {
			t.Error("unknown variant found")
		}
		if z.Stats().Entries != 2 {
			t.Errorf("entries %d", z.Stats().Entries)
		}
		// A response without Vary replaces every variant.
		store(t, z, meta("h/v", nil), []byte("plain"))
		if e := z.Lookup("h/v", http.Header{"Accept-Encoding": {"gzip"}}); e == nil || e.Variant() != 0 || z.Stats().Entries != 1 {
			t.Errorf("plain after variants: %v %+v", e, z.Stats())
		}
		// Delete removes every variant.
		m := meta("h/w", nil)
		m.Vary, m.Variant = vary, variant(vary, http.Header{"Accept-Encoding": {"gzip"}})
		store(t, z, m, []byte("g"))
		m.Variant = variant(vary, http.Header{})
		store(t, z, m, []byte("none"))
		if !z.Delete("h/w") || z.Stats().Entries != 1 {
			t.Errorf("delete variants: %+v", z.Stats())
		}
	})
}

func variant(names []string, h http.Header) uint64 { return httpcache.VariantHash(names, h) }

func TestPurge(t *testing.T) {
	kinds(t, func(t *testing.T, kind, dir string) {
		z := openZone(t, kind, dir, 64<<20)
		defer z.Close()
		for i := 0; i < 5000; i++ {
			store(t, z, meta(fmt.Sprintf("example.com/img/%d.png", i), nil), []byte("x"))
			store(t, z, meta(fmt.Sprintf("example.com/css/%d.css", i), nil), []byte("y"))
		}
		re := regexp.MustCompile(`^example\.com/img/1`)
		n := z.Purge(func(e *Entry) bool { return re.MatchString(e.Key()) }, nil)
		if n != 1111 {
			t.Errorf("purged %d", n)
		}
		for _, e := range z.Entries(nil) {
			if re.MatchString(e.Key()) {
				t.Fatalf("%s survived", e.Key())
			}
		}
		if got := len(z.Entries(func(e *Entry) bool { return strings.HasPrefix(e.Key(), "example.com/css/") })); got != 5000 {
			t.Errorf("css entries %d", got)
		}
		// A writer that started before a purge that matches it stores nothing.
		w, _ := z.NewWriter(meta("example.com/img/late", nil), 0)
		_, _ = w.Write([]byte("late"))
		z.Purge(func(e *Entry) bool { return strings.HasPrefix(e.Key(), "example.com/img/") }, nil)
		if e, err := w.Commit(); e != nil || err != nil || z.Lookup("example.com/img/late", nil) != nil {
			t.Errorf("late commit stored: %v %v", e, err)
		}
		// ... and one that started after it does.
		store(t, z, meta("example.com/img/new", nil), []byte("new"))
		if z.Lookup("example.com/img/new", nil) == nil {
			t.Error("commit after purge not stored")
		}
		// Delete also stops an in-flight writer of that key.
		w, _ = z.NewWriter(meta("example.com/img/new", nil), 0)
		z.Delete("example.com/img/new")
		if e, _ := w.Commit(); e != nil {
			t.Error("commit after delete stored")
		}
		if n := z.Purge(func(*Entry) bool { return true }, nil); n != 5000 || z.Stats().Entries != 0 {
			t.Errorf("purge all: %d %+v", n, z.Stats())
		}
	})
}

func TestTooLarge(t *testing.T) {
	kinds(t, func(t *testing.T, kind, dir string) {
		z := openZone(t, kind, dir, 1<<20)
		defer z.Close()
		w, err := z.NewWriter(meta("big", nil), 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(make([]byte, 11)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("write: %v", err)
		}
		if _, err := w.Commit(); !errors.Is(err, ErrTooLarge) {
			t.Errorf("commit: %v", err)
		}
		if _, err := z.NewWriter(meta("big", http.Header{"Content-Length": {"2000000"}}), 0); !errors.Is(err, ErrTooLarge) {
			t.Errorf("content-length over cap: %v", err)
		}
		if z.Stats().Entries != 0 {
			t.Error("stored")
		}
		if kind == KindDisk {
			if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
				t.Errorf("temp files left: %d", len(ents))
			}
		}
	})
}

func TestDiskRestart(t *testing.T) {
	dir := t.TempDir()
	z := openZone(t, KindDisk, dir, 64<<20)
	vary := []string{"Accept"}
	for i := 0; i < 300; i++ {
		m := meta(fmt.Sprintf("h/%d", i), http.Header{"X-I": {fmt.Sprint(i)}})
		if i%10 == 0 {
			m.Vary, m.Variant = vary, variant(vary, http.Header{"Accept": {"a"}})
		}
		store(t, z, m, bytes.Repeat([]byte{byte(i)}, i))
	}
	for i := 0; i < 300; i += 3 {
		z.Delete(fmt.Sprintf("h/%d", i))
	}
	before := z.Stats()
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(z *Zone) {
		t.Helper()
		if s := z.Stats(); s != before {
			t.Fatalf("stats %+v, want %+v", s, before)
		}
		for i := 0; i < 300; i++ {
			e := z.Lookup(fmt.Sprintf("h/%d", i), http.Header{"Accept": {"a"}})
			if (e == nil) != (i%3 == 0) {
				t.Fatalf("h/%d: %v", i, e)
			}
			if e == nil {
				continue
			}
			h, b := read(t, z, e)
			if h.Get("X-I") != fmt.Sprint(i) || b != string(bytes.Repeat([]byte{byte(i)}, i)) {
				t.Fatalf("h/%d: %v %q", i, h, b)
			}
		}
	}
	z = openZone(t, KindDisk, dir, 64<<20)
	check(z)
	// A compaction, then a restart from the snapshot.
	if err := z.t.(*diskTier).compact(); err != nil {
		t.Fatal(err)
	}
	z.Close()
	z = openZone(t, KindDisk, dir, 64<<20)
	check(z)
	z.Close()
	// Without any index file the zone rebuilds from the objects.
	ents, _ := os.ReadDir(dir)
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), "index.") {
			os.Remove(filepath.Join(dir, de.Name()))
		}
	}
	z = openZone(t, KindDisk, dir, 64<<20)
	check(z)
	z.Close()
	// A torn log tail is ignored.
	ents, _ = os.ReadDir(dir)
	for _, de := range ents {
		if strings.HasSuffix(de.Name(), ".log") {
			f, _ := os.OpenFile(filepath.Join(dir, de.Name()), os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{200, 0, 0, 0, 1, 2, 3})
			f.Close()
		}
	}
	z = openZone(t, KindDisk, dir, 64<<20)
	check(z)
	store(t, z, meta("h/after", nil), []byte("after"))
	z.Close()
	z = openZone(t, KindDisk, dir, 64<<20)
	defer z.Close()
	if e := z.Lookup("h/after", nil); e == nil {
		t.Fatal("write after a torn tail lost")
	}
}

func TestDiskCorruptObjectDropped(t *testing.T) {
	dir := t.TempDir()
	z := openZone(t, KindDisk, dir, 1<<20)
	for _, k := range []string{"flip", "trunc", "swap1", "swap2"} {
		store(t, z, meta(k, nil), bytes.Repeat([]byte(k), 100))
	}
	gen := func(k string) uint64 { return z.Lookup(k, nil).gen }
	p := z.t.(*diskTier).path
	pFlip, pTrunc, pS1, pS2 := p(gen("flip")), p(gen("trunc")), p(gen("swap1")), p(gen("swap2"))
	z.Close()
	b, _ := os.ReadFile(pFlip)
	b[len(b)-40] ^= 0xff
	os.WriteFile(pFlip, b, 0o600)
	b, _ = os.ReadFile(pTrunc)
	os.WriteFile(pTrunc, b[:len(b)-30], 0o600)
	b1, _ := os.ReadFile(pS1)
	b2, _ := os.ReadFile(pS2)
	os.WriteFile(pS1, b2, 0o600)
	os.WriteFile(pS2, b1, 0o600)

	z = openZone(t, KindDisk, dir, 1<<20)
	defer z.Close()
	for _, k := range []string{"flip", "trunc", "swap1", "swap2"} {
		e := z.Lookup(k, nil)
		if e == nil {
			t.Fatalf("%s not indexed", k)
		}
		if _, err := z.Open(e); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: open %v, want ErrCorrupt", k, err)
		}
		if z.Lookup(k, nil) != nil {
			t.Errorf("%s still indexed", k)
		}
	}
}

// The size cap holds while many writers store objects of mixed sizes:
// usage never passes the cap by more than one object.
func TestSizeCapWriteStorm(t *testing.T) {
	kinds(t, func(t *testing.T, kind, dir string) {
		const capBytes = 2 << 20
		const maxObj = 100 << 10
		z := openZone(t, kind, dir, capBytes)
		defer z.Close()
		var stop atomic.Bool
		var peak atomic.Int64
		var mon sync.WaitGroup
		mon.Add(1)
		go func() {
			defer mon.Done()
			for !stop.Load() {
				if u := z.Stats().Used; u > peak.Load() {
					peak.Store(u)
				}
				runtime.Gosched()
			}
		}()
		var wg sync.WaitGroup
		n := 400
		if testing.Short() {
			n = 100
		}
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(g), 1))
				buf := make([]byte, maxObj)
				for i := 0; i < n; i++ {
					size := 1 + r.IntN(maxObj)
					if r.IntN(4) == 0 {
						size = 1 + r.IntN(1000)
					}
					w, err := z.NewWriter(meta(fmt.Sprintf("k%d-%d", g, r.IntN(300)), nil), 0)
					if err != nil {
						t.Error(err)
						return
					}
					w.Write(buf[:size])
					if _, err := w.Commit(); err != nil {
						t.Error(err)
						return
					}
					if i%20 == 0 {
						z.Lookup(fmt.Sprintf("k%d-%d", g, r.IntN(300)), nil)
					}
				}
			}(g)
		}
		wg.Wait()
		stop.Store(true)
		mon.Wait()
		limit := int64(capBytes + maxObj + 1024)
		s := z.Stats()
		t.Logf("%s: peak usage %d, final %+v (cap %d)", kind, peak.Load(), s, capBytes)
		if peak.Load() > limit || s.Used > capBytes {
			t.Errorf("usage peak %d final %d, cap %d + one object %d", peak.Load(), s.Used, capBytes, maxObj)
		}
		if s.Entries == 0 {
			t.Error("nothing stored")
		}
		if kind == KindDisk {
			var onDisk int64
			filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() && !strings.HasPrefix(fi.Name(), "index.") {
					onDisk += fi.Size()
				}
				return nil
			})
			if onDisk > capBytes {
				t.Errorf("files on disk %d > cap %d", onDisk, capBytes)
			}
			if onDisk != s.Used {
				t.Errorf("files on disk %d, accounted %d", onDisk, s.Used)
			}
		}
	})
}

// Index memory per entry beyond the key (DESIGN goal: < 200 bytes).
func TestIndexMemoryPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("measures 200k entries")
	}
	n := 200000
	bytesPer, keyBytes := measureIndex(t, n)
	t.Logf("disk index: %.0f bytes per entry beyond the key (keys average %d bytes)", bytesPer, keyBytes)
	if bytesPer > 200 {
		t.Errorf("index costs %.0f bytes per entry beyond the key, goal < 200", bytesPer)
	}
}

// A memory purge is logical at once (the entries are never served again
// and leave the index and the accounts) and the cache's own table is
// reclaimed behind it; a key stored again after a purge is served.
func TestMemoryPurgeReclaim(t *testing.T) {
	z := openZone(t, KindMemory, "", 64<<20)
	defer z.Close()
	for i := 0; i < 2000; i++ {
		store(t, z, meta(fmt.Sprintf("h/%d", i), nil), []byte("x"))
	}
	n := z.Purge(func(e *Entry) bool { return e.Key() < "h/5" }, nil)
	for i := 0; i < 2000; i++ {
		k := fmt.Sprintf("h/%d", i)
		if got := z.Lookup(k, nil) != nil; got != (k >= "h/5") {
			t.Fatalf("%s: found %v after the purge", k, got)
		}
	}
	if s := z.Stats(); s.Entries != 2000-n || len(z.Entries(nil)) != 2000-n {
		t.Errorf("stats %+v, purged %d", s, n)
	}
	store(t, z, meta("h/1", nil), []byte("again"))
	if e := z.Lookup("h/1", nil); e == nil {
		t.Fatal("stored again but not found")
	} else if _, b := read(t, z, e); b != "again" {
		t.Errorf("body %q", b)
	}
	mt := z.t.(*memTier)
	deadline := time.Now().Add(5 * time.Second)
	for mt.c.EstimatedSize() != 2000-n+1 {
		if time.Now().After(deadline) {
			t.Fatalf("cache still holds %d entries, want %d", mt.c.EstimatedSize(), 2000-n+1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := z.Stats(); s.Entries != 2000-n+1 || s.Used <= 0 {
		t.Errorf("stats after reclaim %+v", s)
	}
	if !z.Delete("h/1") || z.Delete("h/0") {
		t.Error("delete after purge")
	}
}

// TestMemWriterPrealloc: a memory zone's writer takes the origin's
// Content-Length as a hint, not as an allocation: eight fills claiming
// 200 MB each held 1.6 GB of heap on a 256 MB zone before a byte of body
// arrived. The body still arrives whole.
func TestMemWriterPrealloc(t *testing.T) {
	z := openZone(t, KindMemory, "", 256<<20)
	defer z.Close()
	w, err := z.NewWriter(meta("k", http.Header{"Content-Length": {"209715200"}}), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c := cap(w.w.(*memWriter).buf); c > 1<<20 {
		t.Errorf("allocated %d bytes for a body not yet received", c)
	}
	w.Abort()

	body := bytes.Repeat([]byte("b"), 3<<20)
	w, err = z.NewWriter(meta("k2", http.Header{"Content-Length": {strconv.Itoa(len(body))}}), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
	e, err := w.Commit()
	if err != nil || e == nil || e.Size != int64(len(body)) {
		t.Fatalf("commit: %v %v", e, err)
	}
}
