package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/stargate-edge/stargate/internal/testutil/etcdtest"
)

// TestEtcdBackend runs one admin API script against a bolt-backed and an
// etcd-backed stargate, requires the same answers from both, checks the
// etcd keyspace behind the answers, and that the data outlives a kill -9.
// Skipped when etcd is not installed, unless STARGATE_REQUIRE_ETCD=1.
func TestEtcdBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("real etcd server: skipped with -short")
	}
	srv := etcdtest.Start(t)
	endpoint := srv.Endpoints()[0]
	const key = "etcd-test-key"
	etcdOpts := startOpts{args: []string{"--admin-key", key, "--store", "etcd", "--etcd-endpoints", endpoint}, key: key}
	ep := start(t, etcdOpts)
	bp := start(t, startOpts{args: []string{"--admin-key", key}, key: key})
	if !strings.Contains(ep.stderr.String(), "store=etcd") {
		t.Errorf("etcd-backed process does not log store=etcd:\n%s", ep.stderr.String())
	}

	cli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	etcdGet := func(k string) (*clientv3.GetResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return cli.Get(ctx, k)
	}
	// matchEtcd checks that an envelope is exactly the etcd key behind it:
	// same key, value bytes, and createdIndex/modifiedIndex = etcd revisions.
	matchEtcd := func(where string, e envelope) {
		t.Helper()
		resp, err := etcdGet(e.Key)
		if err != nil {
			t.Fatalf("%s: etcd get %s: %v", where, e.Key, err)
		}
		if len(resp.Kvs) != 1 {
			t.Errorf("%s: %s is not in etcd", where, e.Key)
			return
		}
		kv := resp.Kvs[0]
		if e.CreatedIndex != kv.CreateRevision || e.ModifiedIndex != kv.ModRevision {
			t.Errorf("%s: %s createdIndex/modifiedIndex %d/%d, etcd create/mod revision %d/%d",
				where, e.Key, e.CreatedIndex, e.ModifiedIndex, kv.CreateRevision, kv.ModRevision)
		}
		if !jsonEqual(e.Value, kv.Value) {
			t.Errorf("%s: %s value %s, etcd holds %s", where, e.Key, e.Value, kv.Value)
		}
	}

	steps := []struct {
		desc, method, path, body string
		status                   int
	}{
		{"create", "PUT", "/apisix/admin/routes/e1", routeBody("/etcd/1", "one"), http.StatusCreated},
		{"get", "GET", "/apisix/admin/routes/e1", "", http.StatusOK},
		{"replace", "PUT", "/apisix/admin/routes/e1", routeBody("/etcd/1b", "two"), http.StatusOK},
		{"create second", "PUT", "/apisix/admin/routes/e2", routeBody("/etcd/2", "second"), http.StatusCreated},
		{"list", "GET", "/apisix/admin/routes", "", http.StatusOK},
		{"list paged", "GET", "/apisix/admin/routes?page=1&page_size=10", "", http.StatusOK},
		{"list filtered", "GET", "/apisix/admin/routes?uri=/etcd/2", "", http.StatusOK},
		{"patch", "PATCH", "/apisix/admin/routes/e1", `{"desc":"patched","labels":{"env":"e2e"}}`, http.StatusOK},
		{"patch sub-path", "PATCH", "/apisix/admin/routes/e1/uri", `"/etcd/1c"`, http.StatusOK},
		{"get patched", "GET", "/apisix/admin/routes/e1", "", http.StatusOK},
		{"get via /api/stargate/v1", "GET", "/api/stargate/v1/routes/e1", "", http.StatusOK},
		{"conflicting route refused", "PUT", "/apisix/admin/routes/e3", routeBody("/etcd/2", "dup"), http.StatusBadRequest},
		{"delete", "DELETE", "/apisix/admin/routes/e1", "", http.StatusOK},
		{"get deleted", "GET", "/apisix/admin/routes/e1", "", http.StatusNotFound},
		{"patch deleted", "PATCH", "/apisix/admin/routes/e1", `{"desc":"x"}`, http.StatusNotFound},
		{"delete again", "DELETE", "/apisix/admin/routes/e1", "", http.StatusNotFound},
		{"list after delete", "GET", "/apisix/admin/routes", "", http.StatusOK},
	}
	for _, s := range steps {
		var bodies [2]any
		for i, p := range []*proc{bp, ep} {
			code, b, err := p.do(s.method, s.path, "", s.body)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", s.desc, s.method, s.path, err)
			}
			if code != s.status {
				t.Errorf("%s (%s): %s %s = %d %s, want %d", s.desc, []string{"bolt", "etcd"}[i], s.method, s.path, code, b, s.status)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("%s: body is not JSON: %s", s.desc, b)
			}
			bodies[i] = normalize(v)
			if i == 1 && s.method == "GET" && code == http.StatusOK {
				if strings.Contains(s.path, "/routes/") {
					matchEtcd(s.desc, decode[envelope](t, b))
				} else {
					for _, e := range decode[listBody](t, b).List {
						matchEtcd(s.desc, e)
					}
				}
			}
		}
		if d := cmp.Diff(bodies[0], bodies[1]); d != "" {
			t.Errorf("%s: %s %s: bolt and etcd answers differ (-bolt +etcd):\n%s", s.desc, s.method, s.path, d)
		}
	}

	// POST ids are the revision of the gen_id write, zero-padded to 20.
	b := ep.must("POST", "/apisix/admin/routes", "", routeBody("/etcd/post", "posted"), http.StatusCreated)
	posted := decode[envelope](t, b)
	id := strings.TrimPrefix(posted.Key, "/apisix/routes/")
	if !regexp.MustCompile(`^\d{20}$`).MatchString(id) {
		t.Errorf("POST id %q, want 20 digits", id)
	}
	if gen, err := etcdGet("/apisix/gen_id"); err != nil || len(gen.Kvs) != 1 {
		t.Errorf("etcd /apisix/gen_id: %v %v", gen, err)
	} else if want := fmt.Sprintf("%020d", gen.Kvs[0].ModRevision); id != want {
		t.Errorf("POST id %s, want the gen_id revision %s", id, want)
	}
	if l := decode[listBody](t, ep.must("GET", "/apisix/admin/routes", "", "", http.StatusOK)); l.Total != 2 {
		t.Errorf("list after POST: total %d, want 2 (gen_id must not be listed)", l.Total)
	}

	// Kill -9, restart against the same etcd with an empty data dir: the
	// data is in etcd, with the same revisions.
	before := ep.must("GET", "/apisix/admin/routes", "", "", http.StatusOK)
	ep.signal(syscall.SIGKILL)
	if _, ok := ep.wait(exitTimeout); !ok {
		t.Fatal("etcd-backed stargate did not die on SIGKILL")
	}
	ep = start(t, etcdOpts)
	after := ep.must("GET", "/apisix/admin/routes", "", "", http.StatusOK)
	if d := cmp.Diff(decode[listBody](t, before), decode[listBody](t, after), cmp.Comparer(jsonEqual)); d != "" {
		t.Errorf("routes after restart differ (-before +after):\n%s", d)
	}
	for _, e := range decode[listBody](t, after).List {
		matchEtcd("after restart", e)
	}
	ep.must("PATCH", "/apisix/admin/routes/e2", "", `{"desc":"after restart"}`, http.StatusOK)
	e := decode[envelope](t, ep.must("GET", "/apisix/admin/routes/e2", "", "", http.StatusOK))
	matchEtcd("patch after restart", e)
	if e.ModifiedIndex <= mustInt(t, id) {
		t.Errorf("write after restart got modifiedIndex %d, not after the POST (id %s)", e.ModifiedIndex, id)
	}
	t.Logf("%d steps agree on bolt and etcd; etcd revisions match createdIndex/modifiedIndex; last write after restart at etcd revision %d", len(steps), e.ModifiedIndex)
	ep.stop()
	bp.stop()
}

func mustInt(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return cmp.Equal(x, y)
}

// normalize replaces what legitimately differs between two backends in an
// admin API answer: revisions (positive numbers become "<rev>") and times.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			switch k {
			case "createdIndex", "modifiedIndex", "create_time", "update_time":
				if n, ok := x.(float64); ok && n > 0 {
					out[k] = "<" + k + ">"
					continue
				}
			}
			out[k] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

// TestEtcdUnreachable: with no etcd at the endpoint, start fails within the
// dial timeout (5 s), exit code 1, with a message naming the endpoint.
func TestEtcdUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the etcd dial timeout: skipped with -short")
	}
	const endpoint = "http://127.0.0.1:1"
	p := launch(t, startOpts{args: []string{"--admin-key", "k", "--store", "etcd", "--etcd-endpoints", endpoint}})
	code, ok := p.wait(15 * time.Second)
	if !ok {
		t.Fatal("still running 15s after start with an unreachable etcd")
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if s := p.stderr.String(); !strings.Contains(s, endpoint) || !strings.Contains(s, "unavailable") || strings.Contains(s, "panic") {
		t.Errorf("stderr does not say the store at %s is unavailable:\n%s", endpoint, s)
	}
	if strings.Contains(p.stderr.String(), "admin API listening") {
		t.Error("listened although the store could not be opened")
	}
}
