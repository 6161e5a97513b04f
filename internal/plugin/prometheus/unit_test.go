package prometheus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/stargate-edge/stargate/internal/http1/server"
	"github.com/stargate-edge/stargate/internal/plugin"
)

type mapVars map[string]string

func (m mapVars) Var(n string) (string, bool) { v, ok := m[n]; return v, ok }

func gather(t *testing.T, cs ...prom.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prom.NewRegistry()
	reg.MustRegister(cs...)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// TestPreferName: with prefer_name the route and service labels take the
// names the request's vars carry (APISIX's route_name/service_name), and
// fall back to the ids.
func TestPreferName(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range []struct {
		desc         string
		prefer       bool
		vars         mapVars
		service      string
		wantR, wantS string
	}{
		{"ids by default", false, mapVars{"route_name": "n-route", "service_name": "n-svc"}, "pn-s", "pn-r", "pn-s"},
		{"names", true, mapVars{"route_name": "n-route", "service_name": "n-svc"}, "pn-s", "n-route", "n-svc"},
		{"no service: no service name", true, mapVars{"route_name": "n-route2", "service_name": "n-svc"}, "", "n-route2", ""},
		{"unnamed: ids", true, mapVars{}, "pn-s2", "pn-r", "pn-s2"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			e, _ := newExporter(map[string]any{"prefer_name": c.prefer})
			e.(*exporter).Log(&plugin.Ctx{Req: req, RouteID: "pn-r", ServiceID: c.service, Vars: c.vars, Status: 299})
			fams := gather(t, &traffic)
			found := false
			for _, m := range fams["apisix_http_status"].GetMetric() {
				l := labels(m)
				if l["code"] == "299" && l["route"] == c.wantR && l["service"] == c.wantS {
					found = true
				}
			}
			if !found {
				t.Errorf("no series with route=%q service=%q", c.wantR, c.wantS)
			}
		})
	}
}

// TestConnState drives the proxy's HTTP/1.1 listener with its census
// installed and checks nginx's connection states, also for connections
// that Shutdown closes while idle.
func TestConnState(t *testing.T) {
	defer SetConnCensus(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := &server.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	c := conns
	state := func() map[string]float64 {
		out := map[string]float64{}
		for _, m := range gather(t, c)["apisix_nginx_http_current_connections"].GetMetric() {
			out[labels(m)["state"]] = m.GetGauge().GetValue()
		}
		return out
	}
	if got := gather(t, c); len(got) != 0 {
		t.Fatalf("exported without a census: %v", got)
	}
	SetConnCensus(srv.Conns)
	want := map[string]float64{"accepted": 0, "handled": 0, "active": 0, "reading": 0, "writing": 0, "waiting": 0}
	if got := state(); !cmp.Equal(got, want) {
		t.Fatalf("before any connection (-want +got):\n%s", cmp.Diff(want, got))
	}
	clients := []*http.Client{{Transport: &http.Transport{}}, {Transport: &http.Transport{}}, {Transport: &http.Transport{}}}
	for _, cl := range clients {
		res, err := cl.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(res.Body)
		res.Body.Close()
	}
	want = map[string]float64{"accepted": 3, "handled": 3, "active": 3, "reading": 0, "writing": 0, "waiting": 3}
	waitFor(t, func() bool { return cmp.Equal(state(), want) }, func() string { return cmp.Diff(want, state()) })
	// A connection that sent nothing yet is "reading".
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	want = map[string]float64{"accepted": 4, "handled": 4, "active": 4, "reading": 1, "writing": 0, "waiting": 3}
	waitFor(t, func() bool { return cmp.Equal(state(), want) }, func() string { return cmp.Diff(want, state()) })
	// One in a request is "writing", and back to "waiting" after it.
	slow := make(chan error, 1)
	go func() {
		res, err := clients[2].Get(url + "/slow")
		if err == nil {
			_, _ = io.ReadAll(res.Body)
			res.Body.Close()
		}
		slow <- err
	}()
	want = map[string]float64{"accepted": 4, "handled": 4, "active": 4, "reading": 1, "writing": 1, "waiting": 2}
	waitFor(t, func() bool { return cmp.Equal(state(), want) }, func() string { return cmp.Diff(want, state()) })
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	want = map[string]float64{"accepted": 4, "handled": 4, "active": 4, "reading": 1, "writing": 0, "waiting": 3}
	waitFor(t, func() bool { return cmp.Equal(state(), want) }, func() string { return cmp.Diff(want, state()) })
	for _, cl := range clients[:2] {
		cl.CloseIdleConnections()
	}
	want = map[string]float64{"accepted": 4, "handled": 4, "active": 2, "reading": 1, "writing": 0, "waiting": 1}
	waitFor(t, func() bool { return cmp.Equal(state(), want) }, func() string { return cmp.Diff(want, state()) })
	// Shutdown closes the idle and the silent connection itself.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	want = map[string]float64{"accepted": 4, "handled": 4, "active": 0, "reading": 0, "writing": 0, "waiting": 0}
	waitFor(t, func() bool { return cmp.Equal(state(), want) }, func() string { return cmp.Diff(want, state()) })
}

func waitFor(t *testing.T, ok func() bool, diff func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("state (-want +got):\n%s", diff())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEtcdProbe(t *testing.T) {
	defer SetEtcdProbe(nil)
	if f := gather(t, etcd); len(f) != 0 {
		t.Fatalf("exported without a probe: %v", f)
	}
	for _, c := range []struct {
		desc string
		err  error
		want float64
	}{{"reachable", nil, 1}, {"unreachable", errors.New("down"), 0}} {
		SetEtcdProbe(func(context.Context) error { return c.err })
		got := gather(t, etcd)["apisix_etcd_reachable"].GetMetric()[0].GetGauge().GetValue()
		if got != c.want {
			t.Errorf("%s: %v", c.desc, got)
		}
	}
}

// BenchmarkLog is the per-request cost of the plugin on a warm series,
// each parallel goroutine standing for one event loop (its own Worker).
func BenchmarkLog(b *testing.B) {
	req := httptest.NewRequest("GET", "/bench?x=1", nil)
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept", "*/*")
	e, _ := newExporter(map[string]any{})
	ex := e.(*exporter)
	var workers atomic.Int32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &plugin.Ctx{Req: req, RouteID: "bench", ServiceID: "s", Status: 200, BytesSent: 1024,
			UpstreamAddr: "127.0.0.1:8080", Latency: 3 * time.Millisecond, Consumer: &plugin.Consumer{Username: "jack"},
			Worker: int(workers.Add(1) - 1)}
		for pb.Next() {
			ex.Log(c)
		}
	})
}

// TestShardedTotals: requests logged from different loops' shards (and
// from off the loops) add up in one series, across scrapes, with each
// latency in the bucket client_golang's histogram puts it in (a value
// equal to a bound counts under that bound).
func TestShardedTotals(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	e, _ := newExporter(map[string]any{})
	ex := e.(*exporter)
	log := func(worker int, lat time.Duration, sent int64) {
		ex.Log(&plugin.Ctx{Req: req, RouteID: "shard-r", Status: 201, Worker: worker,
			UpstreamAddr: "10.0.0.9:80", Latency: lat, UpstreamLatency: lat / 2, BytesSent: sent})
	}
	find := func(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
		t.Helper()
		for _, m := range fams[name].GetMetric() {
			if cmp.Equal(labels(m), want) {
				return m
			}
		}
		t.Fatalf("no %s%v", name, want)
		return nil
	}
	lat := map[string]string{"type": "request", "route": "shard-r", "service": "", "consumer": "", "node": "10.0.0.9"}
	status := map[string]string{"code": "201", "route": "shard-r", "matched_uri": "", "matched_host": "", "service": "", "consumer": "", "node": "10.0.0.9"}
	egress := map[string]string{"type": "egress", "route": "shard-r", "service": "", "consumer": "", "node": "10.0.0.9"}

	log(0, 500*time.Microsecond, 10)
	log(1, time.Millisecond, 20)
	_ = gather(t, &traffic) // a scrape in between moves the tallies
	log(-1, 3*time.Millisecond, 30)
	log(numShards+1, 70*time.Second, 40) // loops beyond the shards share them
	fams := gather(t, &traffic)

	if got := find(fams, "apisix_http_status", status).GetCounter().GetValue(); got != 4 {
		t.Errorf("status count %v, want 4", got)
	}
	if got := find(fams, "apisix_bandwidth", egress).GetCounter().GetValue(); got != 100 {
		t.Errorf("egress %v, want 100", got)
	}
	h := find(fams, "apisix_http_latency", lat).GetHistogram()
	if h.GetSampleCount() != 4 || h.GetSampleSum() != 70004.5 {
		t.Errorf("count %d sum %v, want 4 and 70004.5", h.GetSampleCount(), h.GetSampleSum())
	}
	want := map[float64]uint64{1: 2, 2: 2, 5: 3, 10: 3, 60000: 3}
	for _, b := range h.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
	// The same observations through client_golang's own histogram.
	ref := prom.NewHistogram(prom.HistogramOpts{Name: "ref", Buckets: Buckets})
	for _, v := range []float64{0.5, 1, 3, 70000} {
		ref.Observe(v)
	}
	var m dto.Metric
	if err := ref.Write(&m); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m.GetHistogram().GetBucket(), h.GetBucket(), cmp.Comparer(func(a, b *dto.Bucket) bool {
		return a.GetUpperBound() == b.GetUpperBound() && a.GetCumulativeCount() == b.GetCumulativeCount()
	})); diff != "" {
		t.Errorf("buckets differ from client_golang's (-ref +got):\n%s", diff)
	}
}

// TestShardLastLabels: a shard that remembers the label set it recorded
// last still counts each set apart when they alternate on one loop
// (route, status, node, consumer), and keeps counting across scrapes.
func TestShardLastLabels(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	e, _ := newExporter(map[string]any{})
	ex := e.(*exporter)
	type set struct {
		route string
		code  int
		node  string
	}
	sets := []set{{"last-a", 200, "10.0.0.1:80"}, {"last-a", 500, "10.0.0.1:80"}, {"last-b", 200, "10.0.0.1:80"}, {"last-a", 200, "10.0.0.2:80"}}
	want := map[set]float64{}
	for i := range 40 {
		s := sets[(i*i+i/3)%len(sets)]
		ex.Log(&plugin.Ctx{Req: req, RouteID: s.route, Status: s.code, Worker: 3, UpstreamAddr: s.node, BytesSent: 1})
		want[s]++
		if i == 25 {
			_ = gather(t, &traffic)
		}
	}
	fams := gather(t, &traffic)
	for s, n := range want {
		node, _, _ := strings.Cut(s.node, ":")
		var got float64
		for _, m := range fams["apisix_http_status"].GetMetric() {
			l := labels(m)
			if l["route"] == s.route && l["code"] == fmt.Sprint(s.code) && l["node"] == node {
				got += m.GetCounter().GetValue()
			}
		}
		if got != n {
			t.Errorf("%v: %v, want %v", s, got, n)
		}
	}
}
