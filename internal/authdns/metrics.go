package authdns

import (
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Bounded label values: qtypes outside qtypeNames are "OTHER", rcodes
// outside rcodeNames are "OTHER", zones we do not hold are "none".
var (
	qtypeNames = []string{"A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS", "SOA", "CAA", "PTR", "ANY", "AXFR", "IXFR", "DS", "DNSKEY", "HTTPS", "SVCB", "OTHER"}
	rcodeNames = []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "NOTAUTH", "BADVERS", "OTHER"}
	qtypeIndex [65536]uint8
	rcodeIndex [32]uint8
)

const (
	noZone    = "none"
	numQtypes = 18
	numRcodes = 9
)

func init() {
	if len(qtypeNames) != numQtypes || len(rcodeNames) != numRcodes {
		panic("authdns: label tables out of step")
	}
	other := uint8(len(qtypeNames) - 1)
	for i := range qtypeIndex {
		qtypeIndex[i] = other
	}
	for i, n := range qtypeNames[:len(qtypeNames)-1] {
		t, ok := dns.StringToType[n]
		if !ok {
			panic("authdns: unknown qtype label " + n)
		}
		qtypeIndex[t] = uint8(i) //nolint:gosec // small table
	}
	ro := uint8(len(rcodeNames) - 1)
	for i := range rcodeIndex {
		rcodeIndex[i] = ro
	}
	codes := []int{dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure, dns.RcodeNameError,
		dns.RcodeNotImplemented, dns.RcodeRefused, dns.RcodeNotAuth, dns.RcodeBadVers}
	for i, c := range codes {
		rcodeIndex[c] = uint8(i) //nolint:gosec // small table
	}
}

func rcodeIdx(rcode int) uint8 {
	if rcode < 0 || rcode >= len(rcodeIndex) {
		return uint8(len(rcodeNames) - 1)
	}
	return rcodeIndex[rcode]
}

type serverMetrics struct {
	queries   *prometheus.CounterVec
	badRecord prometheus.Counter
	notifies  *prometheus.CounterVec
	transfers *prometheus.CounterVec
	revision  prometheus.Gauge
	zones     prometheus.Gauge

	mu     sync.Mutex
	byZone map[string]*zoneCounters
}

// zoneCounters caches the query counters of one zone label, resolved on
// first use, so a query costs one atomic add.
type zoneCounters struct {
	vec  *prometheus.CounterVec
	zone string
	c    [numQtypes * numRcodes]atomic.Pointer[prometheus.Counter]
}

func (zc *zoneCounters) inc(qtype uint16, rcode int) {
	i := int(qtypeIndex[qtype])*len(rcodeNames) + int(rcodeIdx(rcode))
	p := zc.c[i].Load()
	if p == nil {
		c, err := zc.vec.GetMetricWithLabelValues(zc.zone, qtypeNames[qtypeIndex[qtype]], rcodeNames[rcodeIdx(rcode)])
		if err != nil {
			return
		}
		p = &c
		zc.c[i].Store(p)
	}
	(*p).Inc()
}

func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	m := &serverMetrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stargate", Subsystem: "authdns", Name: "queries_total",
			Help: "DNS queries answered, by zone (\"none\" outside our zones), query type and response code.",
		}, []string{"zone", "qtype", "rcode"}),
		badRecord: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "stargate", Subsystem: "authdns", Name: "records_left_out_total",
			Help: "Records left out of a compiled zone because they did not build or conflicted.",
		}),
		notifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stargate", Subsystem: "authdns", Name: "notifies_total",
			Help: "NOTIFY messages sent to secondaries, by result (ok, error).",
		}, []string{"result"}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stargate", Subsystem: "authdns", Name: "transfers_total",
			Help: "Zone transfer requests, by result (ok, refused).",
		}, []string{"result"}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "stargate", Subsystem: "authdns", Name: "revision",
			Help: "The store revision the DNS server answers from.",
		}),
		zones: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "stargate", Subsystem: "authdns", Name: "zones",
			Help: "Zones the DNS server answers for.",
		}),
		byZone: map[string]*zoneCounters{},
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.queries, m.badRecord, m.notifies, m.transfers, m.revision, m.zones} {
			_ = reg.Register(c)
		}
	}
	return m
}

// counters returns the counter cache of a zone label.
func (m *serverMetrics) counters(zone string) *zoneCounters {
	m.mu.Lock()
	defer m.mu.Unlock()
	zc := m.byZone[zone]
	if zc == nil {
		zc = &zoneCounters{vec: m.queries, zone: zone}
		m.byZone[zone] = zc
	}
	return zc
}

// dropZone forgets a deleted zone's series.
func (m *serverMetrics) dropZone(zone string) {
	m.mu.Lock()
	delete(m.byZone, zone)
	m.mu.Unlock()
	m.queries.DeletePartialMatch(prometheus.Labels{"zone": zone})
}
