package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/cache"
	"github.com/stargate-edge/stargate/internal/jobs"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/proxy"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

// env is one edge in process: store, admin API (to write routes),
// snapshot, proxy, zones, and an origin that counts requests.
type env struct {
	t       *testing.T
	st      store.Store
	adm     string
	proxy   string
	mem     *cache.Zone
	disk    *cache.Zone
	origin  string
	hits    atomic.Int64
	client  *http.Client
	ctx     context.Context
	workers []context.CancelFunc
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	var err error
	e.mem, err = cache.Open(cache.Config{Name: "memory_cache", Kind: cache.KindMemory, Size: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	e.disk, err = cache.Open(cache.Config{Name: "disk_cache_one", Kind: cache.KindDisk, Size: 1 << 30, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cache.SetZones(e.mem, e.disk)
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	ring, _ := tlscert.NewKeyring(bytes.Repeat([]byte{3}, 32))
	ctx, cancel := context.WithCancel(context.Background())
	e.ctx = ctx
	ups := upstream.NewManager(nil)
	loader := snapshot.New(snapshot.Options{Store: st, Upstreams: ups, Keyring: ring})
	if err := loader.Start(ctx); err != nil {
		t.Fatal(err)
	}
	a := admin.New(admin.Options{Store: st, Keyring: ring, KeyRequired: false,
		CacheZones: map[string]string{"memory_cache": "memory", "disk_cache_one": "disk"},
		Applied:    loader.Served})
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	as := httptest.NewServer(a.Handler())
	srv, err := proxy.Start(proxy.Options{HTTPAddr: "127.0.0.1:0", Snapshots: loader})
	if err != nil {
		t.Fatal(err)
	}
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		if strings.Contains(r.URL.Path, "nostore") {
			w.Header().Set("Cache-Control", "no-store")
		} else {
			w.Header().Set("Cache-Control", "max-age=600")
		}
		if strings.Contains(r.URL.Path, "missing") {
			w.WriteHeader(404)
		}
		fmt.Fprintf(w, "body of %s", r.URL.Path)
	}))
	e.adm, e.proxy, e.origin = as.URL+"/apisix/admin", srv.HTTPAddr(), strings.TrimPrefix(o.URL, "http://")
	e.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(func() {
		for _, c := range e.workers {
			c()
		}
		e.client.CloseIdleConnections()
		srv.Close()
		as.Close()
		o.Close()
		cancel()
		ups.Close()
		st.Close()
		e.mem.Close()
		e.disk.Close()
		cache.SetZones()
	})
	return e
}

func (e *env) put(path, body string) {
	e.t.Helper()
	req, _ := http.NewRequest("PUT", e.adm+path, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode >= 300 {
		e.t.Fatalf("PUT %s: %d %s", path, res.StatusCode, b)
	}
}

func (e *env) get(host, path string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+e.proxy+path, nil)
	req.Host = host
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Apisix-Cache-Status")
}

// startWorker runs a worker as node id; expected lists the nodes jobs
// wait for (this one when nil).
func (e *env) startWorker(id string, expected []string) *jobs.Worker {
	opts := jobs.Options{Store: e.st, Node: id, Warm: jobs.LocalWarmer(e.proxy, "")}
	if expected != nil {
		opts.Nodes = func() []string { return expected }
	}
	w := jobs.New(opts)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	e.workers = append(e.workers, func() { cancel(); <-done })
	return w
}

func (e *env) wait(id string, status string) *jobs.Job {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := jobs.Get(context.Background(), e.st, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if j.Status == status {
			return j
		}
		if time.Now().After(deadline) {
			b, _ := json.Marshal(j)
			e.t.Fatalf("job %s: still %s: %s", id, j.Status, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRecords(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		j, err := jobs.Create(ctx, e.st, jobs.TypePurge, jobs.Request{Zone: "memory_cache", All: true})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(j.ID, "job-") || j.Status != jobs.StatusWaiting {
			t.Errorf("new job %+v", j)
		}
		if _, err := time.Parse(time.RFC3339, j.CreatedAt); err != nil || !strings.HasSuffix(j.CreatedAt, "Z") {
			t.Errorf("created_at %q", j.CreatedAt)
		}
		ids = append(ids, j.ID)
	}
	list, err := jobs.List(ctx, e.st)
	if err != nil || len(list) != 3 || list[0].ID != ids[2] || list[2].ID != ids[0] {
		t.Fatalf("list not newest first: %v", list)
	}
	if _, err := jobs.Update(ctx, e.st, ids[0], func(j *jobs.Job) error { j.Status = jobs.StatusRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Delete(ctx, e.st, ids[0]); !errors.Is(err, jobs.ErrRunning) {
		t.Errorf("delete running: %v", err)
	}
	if err := jobs.Delete(ctx, e.st, ids[1]); err != nil {
		t.Errorf("delete waiting: %v", err)
	}
	if _, err := jobs.Get(ctx, e.st, ids[1]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
	if err := jobs.Delete(ctx, e.st, "job-nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
}

func TestMatcher(t *testing.T) {
	mk := func(key, url string) *cache.Entry {
		z, _ := cache.Open(cache.Config{Name: "m", Kind: cache.KindMemory, Size: 1 << 20})
		defer z.Close()
		w, _ := z.NewWriter(cache.Meta{Key: key, URL: url, Method: "GET", Status: 200, Header: http.Header{},
			StoredAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), SWR: -1, SIE: -1}, 0)
		en, _ := w.Commit()
		return en
	}
	a := mk("example.com/img/a.png?v=1", "https://example.com/img/a.png?v=1")
	b := mk("other.org/img/a.png", "http://other.org/img/a.png")
	c := mk("custom-key#consumer=x", "http://example.com/c")
	for _, tc := range []struct {
		desc string
		req  jobs.Request
		want string // which of a, b, c match
		err  string
	}{
		{desc: "pattern", req: jobs.Request{Pattern: `^example\.com/img/`}, want: "a"},
		{desc: "pattern unanchored", req: jobs.Request{Pattern: `a\.png`}, want: "ab"},
		{desc: "bad pattern", req: jobs.Request{Pattern: `(`}, err: "invalid pattern: error parsing regexp: missing closing ): `(`"},
		{desc: "absolute url", req: jobs.Request{URLs: []string{"https://EXAMPLE.com:443/img/a.png?v=1"}}, want: "a"},
		{desc: "url by path", req: jobs.Request{URLs: []string{"/img/a.png"}}, want: "b"},
		{desc: "url of a custom key", req: jobs.Request{URLs: []string{"http://example.com/c"}}, want: "c"},
		{desc: "bad url", req: jobs.Request{URLs: []string{"ftp://x/y"}}, err: `invalid url "ftp://x/y": want an absolute http(s) URL or a path`},
		{desc: "prefix url", req: jobs.Request{Prefix: "https://example.com/img/"}, want: "a"},
		{desc: "prefix host", req: jobs.Request{Prefix: "other.org/"}, want: "b"},
		{desc: "prefix path", req: jobs.Request{Prefix: "/img/"}, want: "ab"},
		{desc: "all", req: jobs.Request{All: true}, want: "abc"},
		{desc: "two forms", req: jobs.Request{All: true, Prefix: "/"}, err: "want exactly one"},
		{desc: "none", req: jobs.Request{}, err: "want exactly one"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			m, err := jobs.Matcher(tc.req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for i, en := range []*cache.Entry{a, b, c} {
				if m(en) {
					got += string(rune('a' + i))
				}
			}
			if got != tc.want {
				t.Errorf("matched %q, want %q", got, tc.want)
			}
		})
	}
}

// A regex purge over 100k entries completes, and no purged URL is a HIT
// afterwards (through the proxy) while the others still are.
func TestPurgeJobLargeIndex(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 10000
	}
	for _, zone := range []string{"memory_cache", "disk_cache_one"} {
		t.Run(zone, func(t *testing.T) {
			e := newEnv(t)
			z, _ := cache.Lookup(zone)
			kind := z.Kind()
			e.put("/routes/1", fmt.Sprintf(`{"uri":"/*","plugins":{"proxy-cache":{"cache_strategy":%q,"cache_zone":%q}},"upstream":{"nodes":{"%s":1}}}`, kind, zone, e.origin))
			count := n
			if kind == cache.KindDisk {
				count = n / 10 // files: keep the disk case quick
			}
			// Fill the index directly (as many misses would have).
			t0 := time.Now()
			for i := 0; i < count; i++ {
				key := fmt.Sprintf("example.com/%s/%d", []string{"img", "css"}[i%2], i)
				w, err := z.NewWriter(cache.Meta{Key: key, URL: "http://" + key, Method: "GET", Status: 200,
					Header: http.Header{"Content-Type": {"text/plain"}}, StoredAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), SWR: -1, SIE: -1}, 0)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(w, "cached %s", key)
				if _, err := w.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%s: filled %d entries in %v", zone, count, time.Since(t0))
			if s := z.Stats(); s.Entries != count {
				t.Fatalf("entries %d", s.Entries)
			}
			e.startWorker("edge-1", nil)
			j, err := jobs.Create(context.Background(), e.st, jobs.TypePurge, jobs.Request{Zone: zone, Pattern: `^example\.com/img/`})
			if err != nil {
				t.Fatal(err)
			}
			t0 = time.Now()
			j = e.wait(j.ID, jobs.StatusCompleted)
			t.Logf("%s: purge job over %d entries completed in %v: %+v", zone, count, time.Since(t0), j.Progress)
			if j.Progress.Total != count/2 || j.Progress.Done != count/2 || j.Nodes["edge-1"] == nil || j.Nodes["edge-1"].Status != jobs.StatusCompleted {
				t.Errorf("job %+v nodes %+v", j.Progress, j.Nodes)
			}
			re := regexp.MustCompile(`^example\.com/img/`)
			for _, en := range z.Entries(nil) {
				if re.MatchString(en.Key()) {
					t.Fatalf("%s survived the purge", en.Key())
				}
			}
			if s := z.Stats(); s.Entries != count-count/2 {
				t.Errorf("entries after purge %d", s.Entries)
			}
			r := rand.New(rand.NewPCG(1, 1))
			before := e.hits.Load()
			for _, i := range r.Perm(count)[:300] {
				kind := []string{"img", "css"}[i%2]
				_, cs := e.get("example.com", fmt.Sprintf("/%s/%d", kind, i))
				if kind == "img" && cs == "HIT" {
					t.Fatalf("purged /img/%d is a HIT", i)
				}
				if kind == "css" && cs != "HIT" {
					t.Fatalf("/css/%d: %s", i, cs)
				}
			}
			if e.hits.Load() == before {
				t.Error("purged URLs did not reach the origin")
			}
		})
	}
}

// A warm job makes each URL a HIT; URLs that cannot be warmed fail in the
// job's per-URL results and the job still completes.
func TestWarmJob(t *testing.T) {
	e := newEnv(t)
	e.put("/routes/1", fmt.Sprintf(`{"uri":"/w/*","host":"warm.test","plugins":{"proxy-cache":{"cache_strategy":"disk","cache_zone":"disk_cache_one"}},"upstream":{"nodes":{"%s":1}}}`, e.origin))
	e.put("/routes/2", fmt.Sprintf(`{"uri":"/plain/*","upstream":{"nodes":{"%s":1}}}`, e.origin))
	e.startWorker("edge-1", nil)
	var urls []string
	for i := 0; i < 30; i++ {
		urls = append(urls, fmt.Sprintf("http://warm.test/w/%d?q=%d", i, i))
	}
	bad := []string{"http://warm.test/nowhere", "http://warm.test/w/nostore", "http://warm.test/w/missing", "https://other.test/plain/x"}
	j, err := jobs.Create(context.Background(), e.st, jobs.TypeWarm, jobs.Request{URLs: append(append([]string{}, urls...), bad...)})
	if err != nil {
		t.Fatal(err)
	}
	j = e.wait(j.ID, jobs.StatusCompleted)
	if j.Progress != (jobs.Progress{Total: 34, Done: 30, Failed: 4}) || len(j.Results) != 34 {
		t.Errorf("progress %+v, %d results", j.Progress, len(j.Results))
	}
	for _, r := range j.Results[30:] {
		if r.OK || r.Error == "" {
			t.Errorf("bad url result %+v", r)
		}
	}
	t.Logf("failed results: %+v", j.Results[30:])
	before := e.hits.Load()
	for i := range urls {
		if _, cs := e.get("warm.test", fmt.Sprintf("/w/%d?q=%d", i, i)); cs != "HIT" {
			t.Errorf("%s after warming: %s", urls[i], cs)
		}
	}
	if e.hits.Load() != before {
		t.Errorf("warmed URLs reached the origin")
	}
}

// A job this node left running (the process died) is resumed when the
// worker starts again.
func TestResumeAfterRestart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w, _ := e.mem.NewWriter(cache.Meta{Key: "a/b", URL: "http://a/b", Method: "GET", Status: 200, Header: http.Header{},
		StoredAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), SWR: -1, SIE: -1}, 0)
	w.Commit()
	j, _ := jobs.Create(ctx, e.st, jobs.TypePurge, jobs.Request{Zone: "memory_cache", All: true})
	// The state a crash in the middle of the job leaves.
	jobs.Update(ctx, e.st, j.ID, func(j *jobs.Job) error {
		j.Status = jobs.StatusRunning
		j.Nodes["edge-1"] = &jobs.NodeStatus{Status: jobs.StatusRunning, Attempts: 1}
		return nil
	})
	e.startWorker("edge-1", nil)
	j = e.wait(j.ID, jobs.StatusCompleted)
	if ns := j.Nodes["edge-1"]; ns.Attempts != 2 || ns.Status != jobs.StatusCompleted || e.mem.Stats().Entries != 0 {
		t.Errorf("resumed job: %+v, entries %d", ns, e.mem.Stats().Entries)
	}
	// One that keeps dying gives up instead of hanging.
	j2, _ := jobs.Create(ctx, e.st, jobs.TypePurge, jobs.Request{Zone: "memory_cache", All: true})
	jobs.Update(ctx, e.st, j2.ID, func(j *jobs.Job) error {
		j.Status = jobs.StatusRunning
		j.Nodes["edge-2"] = &jobs.NodeStatus{Status: jobs.StatusRunning, Attempts: 3}
		return nil
	})
	e.startWorker("edge-2", nil)
	j2 = e.wait(j2.ID, jobs.StatusFailed)
	if !strings.Contains(j2.Error, "gave up") {
		t.Errorf("error %q", j2.Error)
	}
}

// With two edges, a job completes when both have completed, and each
// records its own status.
func TestTwoNodes(t *testing.T) {
	e := newEnv(t)
	both := []string{"edge-a", "edge-b"}
	e.startWorker("edge-a", both)
	j, _ := jobs.Create(context.Background(), e.st, jobs.TypePurge, jobs.Request{Zone: "memory_cache", Prefix: "/x"})
	// Only edge-a runs: the job waits for edge-b.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := jobs.Get(context.Background(), e.st, j.ID)
		if ns := got.Nodes["edge-a"]; ns != nil && ns.Status == jobs.StatusCompleted {
			if got.Status != jobs.StatusRunning {
				t.Fatalf("status %s with one of two nodes done", got.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge-a never completed: %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.startWorker("edge-b", both)
	got := e.wait(j.ID, jobs.StatusCompleted)
	if len(got.Nodes) != 2 {
		t.Errorf("nodes %+v", got.Nodes)
	}
	// A node without the zone fails its share, and so the job.
	j3, _ := jobs.Create(context.Background(), e.st, jobs.TypePurge, jobs.Request{Zone: "nope", All: true})
	got = e.wait(j3.ID, jobs.StatusFailed)
	if !strings.Contains(got.Error, "cache zone nope not found on this edge") {
		t.Errorf("error %q", got.Error)
	}
}
