package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// routeState is what the test knows about a route's content: the fields it
// writes (uri by PUT, desc by PUT and PATCH).
type routeState struct {
	URI  string
	Desc string
}

// crashModel records, per route, the last acknowledged content and the
// content of a write that was in flight when the process died (it may or
// may not have been committed; both outcomes are correct).
type crashModel struct {
	mu      sync.Mutex
	acked   map[string]routeState
	pending map[string]routeState
	// per cycle counters
	acks, ambiguous, rejected int
	rejects                   []string
}

func newCrashModel() *crashModel {
	return &crashModel{acked: map[string]routeState{}, pending: map[string]routeState{}}
}

func (m *crashModel) begin(id string, s routeState) {
	m.mu.Lock()
	m.pending[id] = s
	m.mu.Unlock()
}

// end records the outcome of one write. err != nil means no response: the
// write stays pending (ambiguous).
func (m *crashModel) end(id string, s routeState, code int, body []byte, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case err != nil:
		m.ambiguous++
	case code == http.StatusOK || code == http.StatusCreated:
		delete(m.pending, id)
		// The response itself must describe the acknowledged write.
		var env envelope
		var v struct{ URI, Desc string }
		if json.Unmarshal(body, &env) != nil || json.Unmarshal(env.Value, &v) != nil ||
			env.Key != "/apisix/routes/"+id || v.URI != s.URI || v.Desc != s.Desc {
			m.rejects = append(m.rejects, fmt.Sprintf("%s: acknowledged with a body that does not match the write %+v: %s", id, s, body))
		}
		m.acked[id] = s
		m.acks++
	default:
		delete(m.pending, id)
		m.rejected++
		if len(m.rejects) < 10 {
			m.rejects = append(m.rejects, fmt.Sprintf("%s: status %d: %s", id, code, body))
		}
	}
}

// TestCrashDurability: every write acknowledged before a kill -9 is present
// after a restart, with exactly the acknowledged content; nothing stored is
// torn; revisions stay consistent. Three kill/restart cycles on one data dir.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 durability test: skipped with -short")
	}
	const (
		cycles  = 3
		writers = 32
		key     = "crash-test-key"
	)
	dataDir := t.TempDir()
	m := newCrashModel()
	opts := startOpts{dataDir: dataDir, args: []string{"--admin-key", key}, key: key}
	p := start(t, opts)
	for c := range cycles {
		loadAndKill(t, p, m, c, writers)
		p = start(t, opts)
		verifyCrashState(t, p, m, c)
		if t.Failed() {
			break
		}
	}
	p.stop()
}

// loadAndKill runs writers goroutines of PUT/PATCH against p and SIGKILLs p
// after 0.5–1 s, while requests are in flight.
func loadAndKill(t *testing.T, p *proc, m *crashModel, cycle, writers int) {
	m.acks, m.ambiguous, m.rejected = 0, 0, 0
	var (
		stop     atomic.Bool
		inflight atomic.Int64
		wg       sync.WaitGroup
	)
	write := func(method, id string, s routeState, body string) bool {
		m.begin(id, s)
		inflight.Add(1)
		code, b, err := p.do(method, "/apisix/admin/routes/"+id, "", body)
		inflight.Add(-1)
		m.end(id, s, code, b, err)
		return err == nil
	}
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := cycle * 1_000_000 // distinct ids per cycle: r-<g>-<i>
			for i := 0; !stop.Load(); i++ {
				n := base + i
				id := fmt.Sprintf("r-%d-%d", g, n)
				s := routeState{URI: fmt.Sprintf("/crash/%d/%d", g, n), Desc: "put"}
				if !write("PUT", id, s, routeBody(s.URI, s.Desc)) {
					return
				}
				if i%3 == 2 && !stop.Load() {
					// PATCH the previous route, acknowledged just before.
					pid := fmt.Sprintf("r-%d-%d", g, n-1)
					ps := routeState{URI: fmt.Sprintf("/crash/%d/%d", g, n-1), Desc: fmt.Sprintf("patch-%d-%d", g, n)}
					if !write("PATCH", pid, ps, fmt.Sprintf(`{"desc":%q}`, ps.Desc)) {
						return
					}
				}
			}
		}()
	}
	time.Sleep(500*time.Millisecond + rand.N(500*time.Millisecond))
	atKill := inflight.Load()
	p.signal(syscall.SIGKILL)
	stop.Store(true)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("writers did not stop within 30s of the kill")
	}
	if code, ok := p.wait(exitTimeout); !ok || code != -1 {
		t.Fatalf("after SIGKILL: exited %v, code %d; want death by signal", ok, code)
	}
	if m.rejected > 0 || len(m.rejects) > 0 {
		t.Errorf("%d valid writes were refused before the kill; first: %s", m.rejected, strings.Join(m.rejects, "\n"))
	}
	t.Logf("cycle %d: %d writes acknowledged before SIGKILL, %d in flight at the kill, %d without a response",
		cycle+1, m.acks, atKill, m.ambiguous)
	if m.acks == 0 {
		t.Fatal("no write was acknowledged: the load did not run")
	}
	if atKill == 0 {
		t.Log("note: no request was in flight at the instant of the kill")
	}
}

// verifyCrashState checks the restarted process against the model and then
// settles the model to what is stored (an in-flight write may have landed).
func verifyCrashState(t *testing.T, p *proc, m *crashModel, cycle int) {
	lb := decode[listBody](t, p.must("GET", "/apisix/admin/routes", "", "", http.StatusOK))
	if lb.Total != len(lb.List) {
		t.Errorf("list total %d, but %d items", lb.Total, len(lb.List))
	}
	type stored struct {
		routeState
		env envelope
	}
	got := map[string]stored{}
	byRev := map[int64]string{}
	var maxRev int64
	for _, e := range lb.List {
		id, ok := strings.CutPrefix(e.Key, "/apisix/routes/")
		if !ok || id == "" {
			t.Errorf("listed key %q is not a route key", e.Key)
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(e.Value, &v); err != nil {
			t.Errorf("route %s: stored value does not parse (torn write?): %v: %s", id, err, e.Value)
			continue
		}
		if err := completeRoute(id, v); err != nil {
			t.Errorf("route %s: incomplete object: %v: %s", id, err, e.Value)
		}
		if e.CreatedIndex <= 0 || e.CreatedIndex > e.ModifiedIndex {
			t.Errorf("route %s: createdIndex %d, modifiedIndex %d: want 0 < created <= modified", id, e.CreatedIndex, e.ModifiedIndex)
		}
		if other, dup := byRev[e.ModifiedIndex]; dup {
			t.Errorf("routes %s and %s share modifiedIndex %d: every write must have its own revision", other, id, e.ModifiedIndex)
		}
		byRev[e.ModifiedIndex] = id
		maxRev = max(maxRev, e.ModifiedIndex)
		uri, _ := v["uri"].(string)
		desc, _ := v["desc"].(string)
		got[id] = stored{routeState{uri, desc}, e}
	}

	m.mu.Lock()
	var lost, wrong, phantom []string
	landed, vanished := 0, 0 // in-flight writes that were / were not committed
	for id, want := range m.acked {
		s, ok := got[id]
		pend, hasPend := m.pending[id]
		switch {
		case !ok:
			lost = append(lost, fmt.Sprintf("%s %+v", id, want))
		case s.routeState == want:
		case hasPend && s.routeState == pend:
			m.acked[id] = pend // the in-flight write was committed
			landed++
		default:
			wrong = append(wrong, fmt.Sprintf("%s: stored %+v, acknowledged %+v (in flight: %+v)", id, s.routeState, want, pend))
		}
	}
	for id, s := range got {
		if _, ok := m.acked[id]; ok {
			continue
		}
		pend, hasPend := m.pending[id]
		switch {
		case hasPend && s.routeState == pend:
			m.acked[id] = pend
			landed++
		default:
			phantom = append(phantom, fmt.Sprintf("%s %+v", id, s.routeState))
		}
	}
	vanished = len(m.pending) - landed
	m.pending = map[string]routeState{}
	total := len(m.acked)
	m.mu.Unlock()

	report := func(what string, list []string) {
		if len(list) == 0 {
			return
		}
		sort.Strings(list)
		t.Errorf("%d %s, e.g.:\n  %s", len(list), what, strings.Join(list[:min(len(list), 10)], "\n  "))
	}
	report("acknowledged writes lost", lost)
	report("routes with content other than the acknowledged write", wrong)
	report("stored routes that no request wrote", phantom)

	// GET must agree with the list, byte for byte, for a sample.
	ids := make([]string, 0, len(got))
	for id := range got {
		ids = append(ids, id)
	}
	rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, id := range ids[:min(len(ids), 100)] {
		e := decode[envelope](t, p.must("GET", "/apisix/admin/routes/"+id, "", "", http.StatusOK))
		want := got[id].env
		if e.Key != want.Key || string(e.Value) != string(want.Value) || e.CreatedIndex != want.CreatedIndex || e.ModifiedIndex != want.ModifiedIndex {
			t.Errorf("GET %s = %+v, list has %+v", id, e, want)
		}
	}

	// The store revision is at least every key's revision, and a new write
	// after the restart gets a newer one (the revision never goes back).
	rev, err := p.metric("stargate_store_revision")
	if err != nil {
		t.Fatal(err)
	}
	if int64(rev) < maxRev {
		t.Errorf("stargate_store_revision %v < highest modifiedIndex %d", rev, maxRev)
	}
	probe := fmt.Sprintf("probe-%d", cycle)
	s := routeState{URI: "/crash/probe/" + probe, Desc: "probe"}
	p.must("PUT", "/apisix/admin/routes/"+probe, "", routeBody(s.URI, s.Desc), http.StatusCreated)
	e := decode[envelope](t, p.must("GET", "/apisix/admin/routes/"+probe, "", "", http.StatusOK))
	if e.CreatedIndex <= int64(rev) || e.CreatedIndex <= maxRev || e.ModifiedIndex != e.CreatedIndex {
		t.Errorf("write after restart got createdIndex %d, modifiedIndex %d; store revision before it was %v, highest modifiedIndex %d",
			e.CreatedIndex, e.ModifiedIndex, rev, maxRev)
	}
	m.mu.Lock()
	m.acked[probe] = s
	m.mu.Unlock()

	t.Logf("cycle %d: after restart %d routes stored (model %d), %d in-flight writes landed, %d did not; store revision %v",
		cycle+1, len(got), total, landed, vanished, rev)
}

// completeRoute checks that a stored route is a whole object as the admin
// API writes it.
func completeRoute(id string, v map[string]any) error {
	if v["id"] != id {
		return fmt.Errorf("id %v", v["id"])
	}
	if u, _ := v["uri"].(string); !strings.HasPrefix(u, "/crash/") {
		return fmt.Errorf("uri %v", v["uri"])
	}
	if d, _ := v["desc"].(string); d == "" {
		return fmt.Errorf("desc %v", v["desc"])
	}
	up, _ := v["upstream"].(map[string]any)
	nodes, _ := up["nodes"].(map[string]any)
	if up["type"] != "roundrobin" || nodes["127.0.0.1:1980"] != float64(1) {
		return fmt.Errorf("upstream %v", v["upstream"])
	}
	ct, ok1 := v["create_time"].(float64)
	ut, ok2 := v["update_time"].(float64)
	if !ok1 || !ok2 || ct <= 0 || ut < ct {
		return fmt.Errorf("create_time %v, update_time %v", v["create_time"], v["update_time"])
	}
	return nil
}
