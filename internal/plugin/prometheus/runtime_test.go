package prometheus_test

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stargate-edge/stargate/internal/testutil/edgetest"

	"github.com/google/go-cmp/cmp"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	promplugin "github.com/stargate-edge/stargate/internal/plugin/prometheus"
)

// scrape serves the plugin's collectors from a fresh registry over HTTP,
// as the admin listener does, and parses the answer with the Prometheus
// text parser.
func scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prom.NewRegistry()
	reg.MustRegister(promplugin.Collectors()...)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// find returns the series of a family whose label set is exactly want.
func find(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	for _, m := range fams[name].GetMetric() {
		if cmp.Equal(labelsOf(m), want) {
			return m
		}
	}
	return nil
}

func counter(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	m := find(fams, name, want)
	if m == nil {
		return 0
	}
	if m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

func histCount(fams map[string]*dto.MetricFamily, name string, want map[string]string) uint64 {
	return find(fams, name, want).GetHistogram().GetSampleCount()
}

// matchedURI is each test route's uri pattern, by route label.
var matchedURI = map[string]string{"g-r1": "/g/p1", "route one": "/g/p1", "g-r2": "/g/p2", "r-on": "/r/on", "c-1": "/c", "b-1": "/b/*"}

func statusLabels(code, route, service, consumer, node string) map[string]string {
	return map[string]string{"code": code, "route": route, "matched_uri": matchedURI[route], "matched_host": "",
		"service": service, "consumer": consumer, "node": node}
}

func typed(typ, route, service, consumer, node string) map[string]string {
	return map[string]string{"type": typ, "route": route, "service": service, "consumer": consumer, "node": node}
}

// TestGlobalRuleMetrics runs the plugin as APISIX users usually do, as a
// global rule, and checks every series a known mix of requests produces:
// names, types, help, labels, buckets and exact values.
func TestGlobalRuleMetrics(t *testing.T) {
	promplugin.SetVersion("9.9.9-test")
	e := edgetest.New(t)
	up := echo(t)
	e.Put("/services/g-s1", `{"name":"svc one","upstream":{"nodes":{"`+up+`":1}}}`)
	e.Put("/routes/g-r1", `{"uri":"/g/p1","name":"route one","service_id":"g-s1"}`)
	e.Put("/routes/g-r2", `{"uri":"/g/p2","plugins":{"test-consumer":{}},"upstream":{"nodes":{"`+up+`":1}}}`)
	e.Put("/global_rules/1", `{"plugins":{"prometheus":{}}}`)

	before := scrape(t)
	type req struct {
		desc, raw  string
		wantStatus int
	}
	reqs := []req{
		{"service route", "GET /g/p1 HTTP/1.1\r\nHost: a.test\r\n\r\n", 200},
		{"service route with query and header", "GET /g/p1?x=1 HTTP/1.1\r\nHost: a.test\r\nX-Long: " + strings.Repeat("v", 100) + "\r\n\r\n", 200},
		{"service route with body", "POST /g/p1 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello", 200},
		{"consumer", "GET /g/p2 HTTP/1.1\r\nHost: b.test\r\nX-Consumer: jack\r\n\r\n", 200},
		{"consumer again", "GET /g/p2 HTTP/1.1\r\nHost: b.test\r\nX-Consumer: jack\r\n\r\n", 200},
		{"rejected by a plugin", "GET /g/p2 HTTP/1.1\r\nHost: b.test\r\n\r\n", 401},
		{"no route", "GET /g/none HTTP/1.1\r\nHost: c.test\r\n\r\n", 404},
	}
	in := map[string]int{}  // route -> request bytes
	out := map[string]int{} // route -> response body bytes
	for _, r := range reqs {
		res := e.Raw(r.raw)
		status, body := res.Status, []byte(res.Body)
		if status != r.wantStatus {
			t.Fatalf("%s: status %d, want %d", r.desc, status, r.wantStatus)
		}
		route := map[string]string{"/g/p1": "g-r1", "/g/p2": "g-r2"}[strings.Fields(r.raw)[1][:5]]
		key := route
		if r.wantStatus == 401 {
			key = "g-r2 rejected"
		}
		in[key] += len(r.raw)
		out[key] += len(body)
	}
	after := scrape(t)

	t.Run("families", func(t *testing.T) {
		want := map[string]struct {
			typ  dto.MetricType
			help string
		}{
			"apisix_http_status":         {dto.MetricType_COUNTER, "HTTP status codes per service in APISIX"},
			"apisix_bandwidth":           {dto.MetricType_COUNTER, "Total bandwidth in bytes consumed per service in APISIX"},
			"apisix_http_latency":        {dto.MetricType_HISTOGRAM, "HTTP request latency in milliseconds per service in APISIX"},
			"apisix_http_requests_total": {dto.MetricType_GAUGE, "The total number of client requests since APISIX started"},
			"apisix_node_info":           {dto.MetricType_GAUGE, "Info of APISIX node"},
		}
		for name, w := range want {
			f := after[name]
			if f == nil {
				t.Errorf("%s missing", name)
				continue
			}
			if f.GetType() != w.typ || f.GetHelp() != w.help {
				t.Errorf("%s: type %v help %q, want %v %q", name, f.GetType(), f.GetHelp(), w.typ, w.help)
			}
		}
	})

	t.Run("http_status", func(t *testing.T) {
		for _, c := range []struct {
			desc   string
			labels map[string]string
			want   float64
		}{
			{"route through its service", statusLabels("200", "g-r1", "g-s1", "", "127.0.0.1"), 3},
			{"consumer", statusLabels("200", "g-r2", "", "jack", "127.0.0.1"), 2},
			{"plugin exit has no node", statusLabels("401", "g-r2", "", "", ""), 1},
			{"no route", statusLabels("404", "", "", "", ""), 1},
		} {
			got := counter(after, "apisix_http_status", c.labels) - counter(before, "apisix_http_status", c.labels)
			if got != c.want {
				t.Errorf("%s: %v = %v, want %v", c.desc, c.labels, got, c.want)
			}
		}
	})

	t.Run("bandwidth", func(t *testing.T) {
		for _, c := range []struct {
			desc   string
			labels map[string]string
			want   int
		}{
			{"ingress is the request as sent", typed("ingress", "g-r1", "g-s1", "", "127.0.0.1"), in["g-r1"]},
			{"egress", typed("egress", "g-r1", "g-s1", "", "127.0.0.1"), out["g-r1"]},
			{"consumer ingress", typed("ingress", "g-r2", "", "jack", "127.0.0.1"), in["g-r2"]},
			{"consumer egress", typed("egress", "g-r2", "", "jack", "127.0.0.1"), out["g-r2"]},
			{"rejected ingress", typed("ingress", "g-r2", "", "", ""), in["g-r2 rejected"]},
			{"rejected egress", typed("egress", "g-r2", "", "", ""), out["g-r2 rejected"]},
		} {
			got := counter(after, "apisix_bandwidth", c.labels) - counter(before, "apisix_bandwidth", c.labels)
			if got != float64(c.want) || c.want == 0 {
				t.Errorf("%s: %v = %v, want %v", c.desc, c.labels, got, c.want)
			}
		}
	})

	t.Run("latency", func(t *testing.T) {
		f := after["apisix_http_latency"]
		h := find(after, "apisix_http_latency", typed("request", "g-r1", "g-s1", "", "127.0.0.1")).GetHistogram()
		var bounds []float64
		for _, b := range h.GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
		}
		if diff := cmp.Diff(append(append([]float64{}, promplugin.Buckets...), math.Inf(1)), bounds); diff != "" {
			t.Errorf("buckets (-APISIX +got):\n%s", diff)
		}
		if diff := cmp.Diff([]float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000}, promplugin.Buckets); diff != "" {
			t.Errorf("APISIX default buckets changed:\n%s", diff)
		}
		if h.GetSampleSum() <= 0 {
			t.Errorf("latency sum %v", h.GetSampleSum())
		}
		for _, c := range []struct {
			desc   string
			labels map[string]string
			want   uint64
		}{
			{"request", typed("request", "g-r1", "g-s1", "", "127.0.0.1"), 3},
			{"consumer request", typed("request", "g-r2", "", "jack", "127.0.0.1"), 2},
			{"exit: all of it is apisix's", typed("apisix", "g-r2", "", "", ""), 1},
			{"exit request", typed("request", "g-r2", "", "", ""), 1},
			{"no route", typed("apisix", "", "", "", ""), 1},
			{"upstream part of a proxied request", typed("upstream", "g-r1", "g-s1", "", "127.0.0.1"), 3},
			{"apisix part of a proxied request", typed("apisix", "g-r1", "g-s1", "", "127.0.0.1"), 3},
		} {
			got := histCount(after, "apisix_http_latency", c.labels) - histCount(before, "apisix_http_latency", c.labels)
			if got != c.want {
				t.Errorf("%s: %v count %d, want %d", c.desc, c.labels, got, c.want)
			}
		}
		// The type label only takes APISIX's values; only proxied
		// requests (with a node) have an upstream part.
		for _, m := range f.GetMetric() {
			l := labelsOf(m)
			if l["type"] != "request" && l["type"] != "apisix" && l["type"] != "upstream" {
				t.Errorf("unexpected latency type %v", l)
			}
			if l["type"] == "upstream" && l["node"] == "" {
				t.Errorf("upstream latency without an upstream: %v", l)
			}
		}
	})

	t.Run("requests_total", func(t *testing.T) {
		got := counter(after, "apisix_http_requests_total", map[string]string{}) - counter(before, "apisix_http_requests_total", map[string]string{})
		if got != float64(len(reqs)) {
			t.Errorf("apisix_http_requests_total grew by %v, want %d", got, len(reqs))
		}
	})

	t.Run("node_info", func(t *testing.T) {
		host, _ := os.Hostname()
		if v := counter(after, "apisix_node_info", map[string]string{"hostname": host, "version": "9.9.9-test"}); v != 1 {
			t.Errorf("apisix_node_info{hostname=%q,version=9.9.9-test} = %v; families: %v", host, v, after["apisix_node_info"])
		}
	})

	t.Run("prefer_name uses the route and service names", func(t *testing.T) {
		e.Put("/global_rules/1", `{"plugins":{"prometheus":{"prefer_name":true}}}`)
		b := scrape(t)
		if st := e.Raw("GET /g/p1 HTTP/1.1\r\nHost: a.test\r\n\r\n").Status; st != 200 {
			t.Fatal(st)
		}
		a := scrape(t)
		l := statusLabels("200", "route one", "svc one", "", "127.0.0.1")
		if got := counter(a, "apisix_http_status", l) - counter(b, "apisix_http_status", l); got != 1 {
			t.Errorf("%v grew by %v", l, got)
		}
	})
}

// TestRouteMetricsOnlyWhereEnabled: on a route, the plugin records that
// route's requests and nothing else.
func TestRouteMetricsOnlyWhereEnabled(t *testing.T) {
	e := edgetest.New(t)
	up := echo(t)
	e.Put("/routes/r-on", `{"uri":"/r/on","plugins":{"prometheus":{}},"upstream":{"nodes":{"`+up+`":1}}}`)
	e.Put("/routes/r-off", `{"uri":"/r/off","upstream":{"nodes":{"`+up+`":1}}}`)
	before := scrape(t)
	for i := 0; i < 3; i++ {
		e.Raw("GET /r/on HTTP/1.1\r\nHost: x\r\n\r\n")
		e.Raw("GET /r/off HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	after := scrape(t)
	on := statusLabels("200", "r-on", "", "", "127.0.0.1")
	off := statusLabels("200", "r-off", "", "", "127.0.0.1")
	if got := counter(after, "apisix_http_status", on) - counter(before, "apisix_http_status", on); got != 3 {
		t.Errorf("r-on: %v", got)
	}
	if m := find(after, "apisix_http_status", off); m != nil {
		t.Errorf("route without the plugin recorded: %v", m)
	}
}

// TestConcurrentExactCounts: parallel clients over keep-alive connections;
// every request is counted once.
func TestConcurrentExactCounts(t *testing.T) {
	e := edgetest.New(t)
	up := echo(t)
	e.Put("/routes/c-1", `{"uri":"/c","plugins":{"prometheus":{}},"upstream":{"nodes":{"`+up+`":1}}}`)
	before := scrape(t)
	const workers, each = 8, 50
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				res, err := client.Get(e.HTTPURL + "/c")
				if err != nil {
					errs <- err
					return
				}
				_, _ = fmt.Fprint(new(strings.Builder), res.Body)
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	after := scrape(t)
	l := statusLabels("200", "c-1", "", "", "127.0.0.1")
	if got := counter(after, "apisix_http_status", l) - counter(before, "apisix_http_status", l); got != workers*each {
		t.Errorf("status count %v, want %d", got, workers*each)
	}
	lt := typed("request", "c-1", "", "", "127.0.0.1")
	if got := histCount(after, "apisix_http_latency", lt) - histCount(before, "apisix_http_latency", lt); got != workers*each {
		t.Errorf("latency count %v, want %d", got, workers*each)
	}
}

// TestSeriesAreBounded: label values come from configuration (route,
// service, consumer, node) and the status code, never from the request's
// path or query.
func TestSeriesAreBounded(t *testing.T) {
	e := edgetest.New(t)
	up := echo(t)
	e.Put("/routes/b-1", `{"uri":"/b/*","plugins":{"prometheus":{}},"upstream":{"nodes":{"`+up+`":1}}}`)
	for i := 0; i < 20; i++ {
		e.Raw(fmt.Sprintf("GET /b/%d?q=%d HTTP/1.1\r\nHost: h%d\r\n\r\n", i, i, i))
	}
	fams := scrape(t)
	var got []string
	for _, m := range fams["apisix_http_status"].GetMetric() {
		if l := labelsOf(m); l["route"] == "b-1" {
			got = append(got, fmt.Sprint(l))
		}
	}
	sort.Strings(got)
	if len(got) != 1 {
		t.Errorf("series for one route: %v", got)
	}
}
