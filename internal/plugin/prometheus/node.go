package prometheus

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
)

// apisix_etcd_reachable: exported only when the process follows etcd and
// wires a probe in (APISIX too sets it only for an etcd config center).
var (
	etcdProbe atomic.Pointer[func(context.Context) error]
	etcdDesc  = prom.NewDesc("apisix_etcd_reachable", "Config server etcd reachable from APISIX, 0 is unreachable", nil, nil)
	etcd      = collectorFunc{desc: etcdDesc, collect: func(ch chan<- prom.Metric) {
		p := etcdProbe.Load()
		if p == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		v := 1.0
		if err := (*p)(ctx); err != nil {
			v = 0
		}
		ch <- prom.MustNewConstMetric(etcdDesc, prom.GaugeValue, v)
	}}
)

// SetEtcdProbe makes the scrape report apisix_etcd_reachable: 1 when probe
// returns nil within 2 seconds, else 0. nil removes the metric.
func SetEtcdProbe(probe func(ctx context.Context) error) {
	if probe == nil {
		etcdProbe.Store(nil)
		return
	}
	etcdProbe.Store(&probe)
}

// apisix_nginx_http_current_connections{state}: nginx's stub_status,
// rebuilt from net/http connection states once ConnState is installed on
// the proxy's servers.
var (
	connDesc = prom.NewDesc("apisix_nginx_http_current_connections", "Number of HTTP connections", []string{"state"}, nil)
	tracker  connTracker
	conns    = collectorFunc{desc: connDesc, collect: tracker.collect}
)

type connTracker struct {
	used     atomic.Bool
	accepted atomic.Int64
	// open counts connections by their current state (StateNew,
	// StateActive, StateIdle).
	open   [3]atomic.Int64
	states sync.Map // net.Conn -> *atomic.Int32 (its http.ConnState)
}

// ConnState is an http.Server ConnState hook for the proxy listeners: with
// it the plugin exports apisix_nginx_http_current_connections with nginx's
// states — accepted and handled (connections accepted since start), active
// (open now), reading (accepted, no request yet), writing (serving a
// request) and waiting (idle keep-alive).
func ConnState(c net.Conn, s http.ConnState) { tracker.connState(c, s) }

func (t *connTracker) connState(c net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		t.used.Store(true)
		t.accepted.Add(1)
		st := new(atomic.Int32)
		st.Store(int32(http.StateNew))
		t.states.Store(c, st)
		t.open[http.StateNew].Add(1)
	case http.StateActive, http.StateIdle:
		v, ok := t.states.Load(c)
		if !ok {
			return
		}
		old := v.(*atomic.Int32).Swap(int32(s))
		t.open[old].Add(-1)
		t.open[s].Add(1)
	case http.StateClosed, http.StateHijacked:
		v, ok := t.states.LoadAndDelete(c)
		if !ok {
			return
		}
		t.open[v.(*atomic.Int32).Load()].Add(-1)
	}
}

func (t *connTracker) collect(ch chan<- prom.Metric) {
	if !t.used.Load() {
		return
	}
	reading, writing, waiting := t.open[http.StateNew].Load(), t.open[http.StateActive].Load(), t.open[http.StateIdle].Load()
	accepted := t.accepted.Load()
	for _, m := range []struct {
		state string
		v     int64
	}{
		{"accepted", accepted}, {"active", reading + writing + waiting}, {"handled", accepted},
		{"reading", reading}, {"waiting", waiting}, {"writing", writing},
	} {
		ch <- prom.MustNewConstMetric(connDesc, prom.GaugeValue, float64(m.v), m.state)
	}
}
