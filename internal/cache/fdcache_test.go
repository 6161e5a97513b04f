package cache

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestFDCacheRefcounts: a descriptor stays open while a body holds it,
// even after the cache dropped it (purge) or evicted it, and is closed
// when the last holder lets go.
func TestFDCacheRefcounts(t *testing.T) {
	dir := t.TempDir()
	path := func(i int) string { return filepath.Join(dir, fmt.Sprint(i)) }
	for i := range 4 {
		if err := os.WriteFile(path(i), bytes.Repeat([]byte{byte('a' + i)}, 100), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := newFDCache(2)
	of0, err := c.open(0, path(0))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.get(0); got != of0 || of0.refs.Load() != 3 {
		t.Fatalf("get: %p refs %d", got, of0.refs.Load())
	}
	of0.release()
	body := &fileAtBody{of: of0, off: 10, n: 20}
	c.drop(0) // purged while a body reads it
	if c.get(0) != nil {
		t.Fatal("dropped descriptor still cached")
	}
	b, err := io.ReadAll(body)
	if err != nil || string(b) != string(bytes.Repeat([]byte("a"), 20)) {
		t.Fatalf("read after drop: %q %v", b, err)
	}
	body.Close()
	body.Close() // idempotent
	if r := of0.refs.Load(); r != 0 {
		t.Fatalf("refs after the last release: %d", r)
	}
	if _, err := of0.f.ReadAt(make([]byte, 1), 0); err == nil {
		t.Error("descriptor still open after the last release")
	}

	// Eviction beyond max keeps held descriptors usable.
	var held []*openFile
	for i := 1; i <= 3; i++ {
		of, err := c.open(uint64(i), path(i))
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, of)
	}
	if c.get(1) != nil {
		t.Error("oldest descriptor not evicted beyond max")
	}
	p := make([]byte, 1)
	if _, err := held[0].f.ReadAt(p, 0); err != nil || p[0] != 'b' {
		t.Errorf("evicted but held descriptor: %q %v", p, err)
	}
	for _, of := range held {
		of.release()
	}
	if held[0].refs.Load() != 0 {
		t.Error("evicted descriptor not closed after release")
	}
	c.closeAll()
	if held[2].refs.Load() != 0 {
		t.Error("closeAll left a descriptor open")
	}
}

// TestDiskHitsShareDescriptors: concurrent HITs of one large and one
// small disk object, served from shared open files, all read the right
// bytes; a purge in the middle never serves the object afterwards.
func TestDiskHitsShareDescriptors(t *testing.T) {
	z := openZone(t, "disk", t.TempDir(), 64<<20)
	defer z.Close()
	big := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16)
	small := []byte("small object body")
	eb := store(t, z, meta("big", nil), big)
	es := store(t, z, meta("small", nil), small)
	read(t, z, eb) // first use verifies; later opens use the descriptor cache
	read(t, z, es)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				e, want := eb, big
				if (g+i)%2 == 0 {
					e, want = es, small
				}
				o, err := z.Open(e)
				if err != nil {
					t.Error(err)
					return
				}
				start := int64(i*7) % int64(len(want))
				body := o.Body(start, o.Size-start)
				got, err := io.ReadAll(body)
				body.Close()
				if err != nil || !bytes.Equal(got, want[start:]) {
					t.Errorf("object %s from %d: %d bytes, %v", e.Key(), start, len(got), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if !z.Delete(eb.skey) {
		t.Fatal("purge of the big object failed")
	}
	if e := z.Lookup("big", nil); e != nil {
		t.Error("purged object still in the index")
	}
}
