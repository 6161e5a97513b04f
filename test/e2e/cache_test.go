package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCacheWithCurl follows the README's cache walk-through with the real
// binary and curl: a cached route (MISS then HIT), the hit surviving a
// restart of the process (the disk zone and its index), a purge job and a
// warm job through the cache and jobs API.
func TestCacheWithCurl(t *testing.T) {
	var originHits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprintf(w, "asset %s\n", r.URL.Path)
	}))
	defer up.Close()
	dataDir := t.TempDir()
	p := start(t, startOpts{key: "k", args: []string{"--admin-key", "k"}, dataDir: dataDir})
	httpAddr, _ := proxyAddrs(t, p)
	p.must("PUT", "/api/stargate/v1/routes/cdn", "", fmt.Sprintf(
		`{"uri":"/*","host":"cdn.example.com","plugins":{"proxy-cache":{}},"upstream":{"nodes":{"%s":1}}}`,
		strings.TrimPrefix(up.URL, "http://")), 201)

	status := regexp.MustCompile(`(?mi)^Apisix-Cache-Status: (\w+)`)
	fetch := func(addr, path string) string {
		t.Helper()
		out := curl(t, "-si", "-H", "Host: cdn.example.com", "http://"+addr+path)
		m := status.FindStringSubmatch(out)
		if m == nil || !strings.Contains(out, "asset "+path) {
			t.Fatalf("GET %s: %s", path, out)
		}
		return m[1]
	}
	if s := fetch(httpAddr, "/img/logo.png"); s != "MISS" {
		t.Errorf("first: %s", s)
	}
	if s := fetch(httpAddr, "/img/logo.png"); s != "HIT" {
		t.Errorf("second: %s", s)
	}

	// The disk zone survives a restart.
	p.stop()
	p = start(t, startOpts{key: "k", args: []string{"--admin-key", "k"}, dataDir: dataDir})
	httpAddr, _ = proxyAddrs(t, p)
	if s := fetch(httpAddr, "/img/logo.png"); s != "HIT" {
		t.Errorf("after restart: %s", s)
	}
	if n := originHits.Load(); n != 1 {
		t.Errorf("origin requests: %d", n)
	}
	var zones struct {
		Total int `json:"total"`
		Zones []struct {
			Name    string `json:"name"`
			Entries int    `json:"entries"`
		} `json:"zones"`
	}
	_ = json.Unmarshal(p.must("GET", "/api/stargate/v1/caches", "", "", 200), &zones)
	if zones.Total != 2 || zones.Zones[0].Name != "disk_cache_one" || zones.Zones[0].Entries != 1 {
		t.Errorf("zones %+v", zones)
	}

	waitJob := func(body []byte) map[string]any {
		t.Helper()
		var started struct {
			JobID string `json:"jobId"`
		}
		_ = json.Unmarshal(body, &started)
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			var j map[string]any
			_ = json.Unmarshal(p.must("GET", "/api/stargate/v1/jobs/"+started.JobID, "", "", 200), &j)
			if j["status"] == "completed" || j["status"] == "failed" {
				return j
			}
		}
		t.Fatalf("job %s did not finish", started.JobID)
		return nil
	}
	// Purge by pattern: the next request is a MISS.
	j := waitJob(p.must("DELETE", "/api/stargate/v1/caches/disk_cache_one", "", `{"pattern":"^cdn\\.example\\.com/img/"}`, 202))
	if j["status"] != "completed" {
		t.Errorf("purge job %v", j)
	}
	if s := fetch(httpAddr, "/img/logo.png"); s != "MISS" {
		t.Errorf("after purge: %s", s)
	}
	// Warm two URLs: both are HITs afterwards.
	j = waitJob(p.must("POST", "/api/stargate/v1/caches/warmer", "",
		`{"urls":["http://cdn.example.com/css/site.css","http://cdn.example.com/js/app.js"]}`, 202))
	if pr, _ := j["progress"].(map[string]any); j["status"] != "completed" || pr["done"] != 2.0 {
		t.Errorf("warm job %v", j)
	}
	before := originHits.Load()
	for _, path := range []string{"/css/site.css", "/js/app.js"} {
		if s := fetch(httpAddr, path); s != "HIT" {
			t.Errorf("%s after warming: %s", path, s)
		}
	}
	if originHits.Load() != before {
		t.Error("warmed URLs reached the origin")
	}
	// The answers are counted per zone and status.
	if v, err := p.metric(`stargate_cache_responses_total{status="HIT",zone="disk_cache_one"}`); err != nil || v < 3 {
		t.Errorf("hit counter %v %v", v, err)
	}
	if v, err := p.metric(`stargate_cache_entries{kind="disk",zone="disk_cache_one"}`); err != nil || v != 3 {
		t.Errorf("entries gauge %v %v", v, err)
	}
	p.stop()
}
