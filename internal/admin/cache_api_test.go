package admin_test

// The cache and jobs API (spec/cache.md), against a store, memory zones
// and a job worker in process. Self-contained: its own small harness.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/cache"
	"github.com/stargate-edge/stargate/internal/jobs"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

type zoneList []*cache.Zone

func (z zoneList) Zones() []*cache.Zone { return z }

type cacheAPI struct {
	t    *testing.T
	url  string
	zone *cache.Zone
	st   *boltstore.Store
}

func newCacheAPI(t *testing.T, withWorker bool) *cacheAPI {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	z, err := cache.Open(cache.Config{Name: "memory_cache", Kind: cache.KindMemory, Size: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := tlscert.NewKeyring(bytes.Repeat([]byte{3}, 32))
	ctx, cancel := context.WithCancel(context.Background())
	a := admin.New(admin.Options{Store: st, Keyring: ring, KeyRequired: false, Caches: zoneList{z},
		CacheZones: map[string]string{"memory_cache": "memory", "disk_cache_one": "disk"}})
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	done := make(chan struct{})
	if withWorker {
		w := jobs.New(jobs.Options{Store: st, Node: "edge-1",
			Zone: func(name string) (*cache.Zone, bool) { return z, name == z.Name() }})
		go func() { w.Run(ctx); close(done) }()
	} else {
		close(done)
	}
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		a.Sync(context.Background())
		st.Close()
		z.Close()
	})
	return &cacheAPI{t: t, url: srv.URL + "/api/stargate/v1", zone: z, st: st}
}

func (c *cacheAPI) do(method, path, body string) (int, map[string]any, string) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m, string(b)
}

func (c *cacheAPI) fill(keys ...string) {
	for _, k := range keys {
		w, err := c.zone.NewWriter(cache.Meta{Key: k, URL: "http://" + k, Method: "GET", Status: 200, Header: http.Header{},
			StoredAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), SWR: -1, SIE: -1}, 0)
		if err != nil {
			c.t.Fatal(err)
		}
		fmt.Fprintf(w, "body of %s", k)
		if _, err := w.Commit(); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *cacheAPI) waitJob(id string) map[string]any {
	c.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, j, body := c.do("GET", "/jobs/"+id, "")
		if s := j["status"]; s == "completed" || s == "failed" {
			return j
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s not done: %s", id, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCacheAPIValidation(t *testing.T) {
	c := newCacheAPI(t, false)
	for _, tc := range []struct {
		desc, method, path, body string
		status                   int
		want                     string // substring of the body
	}{
		{"list zones", "GET", "/caches", "", 200, `"zones":[{"name":"disk_cache_one","kind":"disk"},{"name":"memory_cache","kind":"memory","size":67108864,"used":0,"entries":0}]`},
		{"unknown zone entries", "GET", "/caches/nope", "", 404, `{"message":"cache zone not found"}`},
		{"zone held elsewhere", "GET", "/caches/disk_cache_one", "", 503, `not held by this node`},
		{"unknown zone purge", "DELETE", "/caches/nope", `{"all":true}`, 404, `cache zone not found`},
		{"bad regex", "DELETE", "/caches/memory_cache", `{"pattern":"a(b"}`, 400, "invalid pattern: error parsing regexp: missing closing ): `a(b`"},
		{"bad regex in listing", "GET", "/caches/memory_cache?pattern=%28", "", 400, "invalid pattern: error parsing regexp"},
		{"two forms", "DELETE", "/caches/memory_cache", `{"all":true,"prefix":"/a"}`, 400, "want exactly one of"},
		{"no form", "DELETE", "/caches/memory_cache", `{}`, 400, "want exactly one of"},
		{"all false", "DELETE", "/caches/memory_cache", `{"all":false}`, 400, `\"all\" must be true`},
		{"unknown field", "DELETE", "/caches/memory_cache", `{"regex":"x"}`, 400, `unknown field`},
		{"empty body", "DELETE", "/caches/memory_cache", ``, 400, `invalid request body`},
		{"bad url", "DELETE", "/caches/memory_cache", `{"urls":["ftp://x/y"]}`, 400, `invalid url`},
		{"empty urls", "DELETE", "/caches/memory_cache", `{"urls":[]}`, 400, `urls must hold`},
		{"wrong type", "DELETE", "/caches/memory_cache", `{"urls":"http://a/b"}`, 400, `invalid request body`},
		{"purge job", "DELETE", "/caches/memory_cache", `{"pattern":"^example\\.com/"}`, 202, `"message":"Cache purge job started."`},
		{"purge on a zone of another node", "DELETE", "/caches/disk_cache_one", `{"all":true}`, 202, `"jobId":"job-`},
		{"warm", "POST", "/caches/warmer", `{"urls":["https://example.com/a"]}`, 202, `"message":"Cache warming job started."`},
		{"warm needs absolute urls", "POST", "/caches/warmer", `{"urls":["/a"]}`, 400, `want an absolute http(s) URL`},
		{"warm with no urls", "POST", "/caches/warmer", `{"urls":[]}`, 400, `urls must hold`},
		{"warmer get", "GET", "/caches/warmer", ``, 405, `not supported`},
		{"zones post", "POST", "/caches", `{}`, 405, `not supported`},
		{"deeper path", "GET", "/caches/memory_cache/x", ``, 404, `not found`},
		{"bad page size", "GET", "/caches/memory_cache?page_size=0", ``, 400, `page_size`},
		{"jobs bad status", "GET", "/jobs?status=done", ``, 400, `status must be`},
		{"jobs bad type", "GET", "/jobs?type=x", ``, 400, `type must be`},
		{"job missing", "GET", "/jobs/job-1", ``, 404, `Key not found`},
		{"job delete missing", "DELETE", "/jobs/job-1", ``, 404, `Key not found`},
		{"jobs post", "POST", "/jobs", `{}`, 405, `not supported`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			status, _, body := c.do(tc.method, tc.path, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%s %s: %d %s, want %d with %q", tc.method, tc.path, status, body, tc.status, tc.want)
			}
		})
	}
	// Listing jobs: newest first, filters, paging.
	_, m, _ := c.do("GET", "/jobs", "")
	list := m["jobs"].([]any)
	if m["total"].(float64) != 3 || list[0].(map[string]any)["type"] != "cache_warm" {
		t.Errorf("jobs %v", m)
	}
	for _, j := range list {
		if _, err := time.Parse(time.RFC3339, j.(map[string]any)["created_at"].(string)); err != nil {
			t.Errorf("created_at: %v", err)
		}
	}
	if _, m, _ := c.do("GET", "/jobs?type=cache_purge&status=waiting", ""); m["total"].(float64) != 2 {
		t.Errorf("filtered %v", m)
	}
	if _, m, _ := c.do("GET", "/jobs?page=2&page_size=2", ""); m["total"].(float64) != 3 || len(m["jobs"].([]any)) != 1 {
		t.Errorf("paged %v", m)
	}
	// A running job cannot be deleted; a waiting one can.
	id := list[0].(map[string]any)["id"].(string)
	if _, err := jobs.Update(context.Background(), c.st, id, func(j *jobs.Job) error { j.Status = jobs.StatusRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	if status, _, body := c.do("DELETE", "/jobs/"+id, ""); status != 400 || !strings.Contains(body, "is running") {
		t.Errorf("delete running job: %d %s", status, body)
	}
	id = list[1].(map[string]any)["id"].(string)
	if status, _, body := c.do("DELETE", "/jobs/"+id, ""); status != 200 || !strings.Contains(body, "The job was removed") {
		t.Errorf("delete waiting job: %d %s", status, body)
	}
}

func TestCacheAPIPurgeAndEntries(t *testing.T) {
	c := newCacheAPI(t, true)
	var keys []string
	for i := 0; i < 30; i++ {
		keys = append(keys, fmt.Sprintf("example.com/img/%02d.png", i), fmt.Sprintf("example.com/css/%02d.css", i))
	}
	c.fill(keys...)
	_, m, _ := c.do("GET", "/caches", "")
	z := m["zones"].([]any)[1].(map[string]any)
	if z["entries"].(float64) != 60 || z["used"].(float64) <= 0 {
		t.Errorf("zone %v", z)
	}
	// Entries: filtered by pattern, paged, sorted by key.
	_, m, body := c.do("GET", `/caches/memory_cache?pattern=%5Eexample%5C.com%2Fimg%2F&page=2&page_size=10`, "")
	es := m["entries"].([]any)
	if m["total"].(float64) != 30 || len(es) != 10 {
		t.Fatalf("entries: %s", body)
	}
	e0 := es[0].(map[string]any)
	if e0["name"] != "example.com/img/10.png" || e0["url"] != "http://example.com/img/10.png" || e0["status"].(float64) != 200 ||
		e0["method"] != "GET" || e0["size"].(float64) != float64(len("body of example.com/img/10.png")) {
		t.Errorf("entry %v", e0)
	}
	for _, f := range []string{"stored_at", "expires_at"} {
		if _, err := time.Parse(time.RFC3339, e0[f].(string)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Purge by regex, then by URL list, then by prefix, then all.
	for _, tc := range []struct {
		body string
		left int
	}{
		{`{"pattern":"^example\\.com/img/1"}`, 50},
		{`{"urls":["http://example.com/img/00.png","/img/01.png","https://example.com/css/00.css"]}`, 47},
		{`{"prefix":"example.com/css/2"}`, 37},
		{`{"prefix":"/css/1"}`, 27},
		{`{"all":true}`, 0},
	} {
		status, m, body := c.do("DELETE", "/caches/memory_cache", tc.body)
		if status != 202 {
			t.Fatalf("%s: %d %s", tc.body, status, body)
		}
		j := c.waitJob(m["jobId"].(string))
		if j["status"] != "completed" || j["type"] != "cache_purge" || j["nodes"].(map[string]any)["edge-1"] == nil {
			t.Errorf("job %v", j)
		}
		if got := c.zone.Stats().Entries; got != tc.left {
			t.Errorf("%s: %d entries left, want %d", tc.body, got, tc.left)
		}
	}
	// A finished job can be deleted.
	_, m, _ = c.do("GET", "/jobs?status=completed", "")
	id := m["jobs"].([]any)[0].(map[string]any)["id"].(string)
	if status, _, _ := c.do("DELETE", "/jobs/"+id, ""); status != 200 {
		t.Errorf("delete completed job: %d", status)
	}
	if status, _, _ := c.do("GET", "/jobs/"+id, ""); status != 404 {
		t.Errorf("deleted job still there")
	}
}
