package prometheus

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
			fams := gather(t, httpStatus)
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

// BenchmarkLog is the per-request cost of the plugin on a warm series.
func BenchmarkLog(b *testing.B) {
	req := httptest.NewRequest("GET", "/bench?x=1", nil)
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept", "*/*")
	e, _ := newExporter(map[string]any{})
	c := &plugin.Ctx{Req: req, RouteID: "bench", ServiceID: "s", Status: 200, BytesSent: 1024,
		UpstreamAddr: "127.0.0.1:8080", Latency: 3 * time.Millisecond, Consumer: &plugin.Consumer{Username: "jack"}}
	ex := e.(*exporter)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ex.Log(c)
		}
	})
}
