package httplogger

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/testutil/edgetest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"
)

func loggerConf(uri string, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"uri":%q%s}`, uri, extra)
}

// TestFullEntry checks APISIX's default log entry field by field.
func TestFullEntry(t *testing.T) {
	e := edgetest.New(t)
	col := newCollector(t)
	up := upstreamAddr(t)
	SetVersion("9.9.9-test")
	e.Put("/services/fe-s", `{"upstream":{"nodes":{"`+up+`":1}}}`)
	e.Put("/routes/fe-r", `{"uri":"/fe","service_id":"fe-s","plugins":{"test-consumer":{},"http-logger":`+
		loggerConf(col.srv.URL+"/logs?src=gw", `"batch_max_size":1,"auth_header":"Bearer t0ken","include_req_body":true,"include_resp_body":true`)+`}}`)

	t0 := time.Now()
	r := e.Do("POST", "/fe?a=1&a=2&flag&sp=x%20y", "hello body", "X-Consumer", "jack", "X-Multi", "one", "X-Multi", "two",
		"Accept-Encoding", "gzip") // as Go's default client sends it
	if r.Status != 200 || r.Body != `{"ok":true}` {
		t.Fatalf("proxied: %d %s", r.Status, r.Body)
	}
	p := col.next(2 * time.Second)
	if p.method != "POST" || p.path != "/logs" || p.query != "src=gw" || p.contentType != "application/json" || p.auth != "Bearer t0ken" {
		t.Errorf("collector request: %s %s?%s type %q auth %q", p.method, p.path, p.query, p.contentType, p.auth)
	}
	got := p.entry(t)
	host, _ := os.Hostname()
	port := strings.TrimPrefix(e.HTTPURL, "http://127.0.0.1:")
	want := map[string]any{
		"request": map[string]any{
			"url":    "http://127.0.0.1:" + port + "/fe?a=1&a=2&flag&sp=x%20y",
			"uri":    "/fe?a=1&a=2&flag&sp=x%20y",
			"method": "POST",
			"headers": map[string]any{
				"x-consumer": "jack", "x-multi": []any{"one", "two"}, "content-length": "10",
				"accept-encoding": "gzip", "user-agent": "Go-http-client/1.1", "host": "127.0.0.1:" + port,
			},
			"querystring": map[string]any{"a": []any{"1", "2"}, "flag": true, "sp": "x y"},
			"body":        "hello body",
		},
		"response": map[string]any{
			"status": 200.0,
			"headers": map[string]any{
				"content-type": "application/json", "x-upstream": "yes",
			},
			"size": 11.0,
			"body": `{"ok":true}`,
		},
		"server":     map[string]any{"hostname": host, "version": "9.9.9-test"},
		"upstream":   up,
		"route_id":   "fe-r",
		"service_id": "fe-s",
		"consumer":   map[string]any{"username": "jack", "group_id": "vip"},
		"client_ip":  "127.0.0.1",
	}
	// Computed fields are checked apart.
	start, _ := got["start_time"].(float64)
	if start < float64(t0.UnixMilli()) || start > float64(time.Now().UnixMilli()) {
		t.Errorf("start_time %v not within the request", got["start_time"])
	}
	if l, _ := got["latency"].(float64); l <= 0 || l > float64(r.Took.Milliseconds()+1) {
		t.Errorf("latency %v (request took %v)", got["latency"], r.Took)
	}
	req := got["request"].(map[string]any)
	// $request_length: the request exactly as Go's client wrote it.
	wire := "POST /fe?a=1&a=2&flag&sp=x%20y HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUser-Agent: Go-http-client/1.1\r\n" +
		"Content-Length: 10\r\nX-Consumer: jack\r\nX-Multi: one\r\nX-Multi: two\r\nAccept-Encoding: gzip\r\n\r\nhello body"
	if size, _ := req["size"].(float64); size != float64(len(wire)) {
		t.Errorf("request size %v, want %d", req["size"], len(wire))
	}
	delete(req, "size")
	resp := got["response"].(map[string]any)
	// The response headers are the ones sent; the transport's own
	// (Date, Content-Length) vary.
	rh := resp["headers"].(map[string]any)
	for _, k := range []string{"date", "content-length"} {
		delete(rh, k)
	}
	for _, k := range []string{"start_time", "latency"} {
		delete(got, k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}

	t.Run("rejected request", func(t *testing.T) {
		r := e.Get("/fe")
		if r.Status != 401 {
			t.Fatalf("status %d", r.Status)
		}
		got := col.next(2 * time.Second).entry(t)
		if got["upstream"] != nil || got["consumer"] != nil || got["route_id"] != "fe-r" {
			t.Errorf("entry: %v", got)
		}
		resp := got["response"].(map[string]any)
		if resp["status"] != 401.0 || resp["body"] != `{"message":"Missing consumer"}` {
			t.Errorf("response: %v", resp)
		}
		if _, ok := got["request"].(map[string]any)["body"]; ok {
			t.Errorf("a body that was never read is logged: %v", got["request"])
		}
		if got["apisix_latency"] != got["latency"] {
			t.Errorf("no upstream: apisix_latency %v, latency %v", got["apisix_latency"], got["latency"])
		}
	})
}

// TestUnmatched: a global-rule logger logs requests no route matched with
// route_id "no-matched".
func TestUnmatched(t *testing.T) {
	e := edgetest.New(t)
	col := newCollector(t)
	e.Put("/global_rules/1", `{"plugins":{"http-logger":`+loggerConf(col.srv.URL, `"batch_max_size":1`)+`}}`)
	if r := e.Get("/nowhere"); r.Status != 404 {
		t.Fatalf("status %d", r.Status)
	}
	got := col.next(2 * time.Second).entry(t)
	if got["route_id"] != "no-matched" || got["service_id"] != nil || got["response"].(map[string]any)["status"] != 404.0 {
		t.Errorf("entry: %v", got)
	}
}

// TestBatching: batches are cut by size, by inactivity and by age, and
// encoded as APISIX does (JSON array or one document per line).
func TestBatching(t *testing.T) {
	e := edgetest.New(t)
	up := upstreamAddr(t)
	route := func(id, conf string) {
		e.Put("/routes/"+id, `{"uri":"/`+id+`","plugins":{"http-logger":`+conf+`},"upstream":{"nodes":{"`+up+`":1}}}`)
	}

	t.Run("by size", func(t *testing.T) {
		col := newCollector(t)
		route("bs", loggerConf(col.srv.URL, `"batch_max_size":3,"inactive_timeout":30`))
		for i := 0; i < 7; i++ {
			e.Get(fmt.Sprintf("/bs?n=%d", i))
		}
		for b := 0; b < 2; b++ {
			got := col.next(2 * time.Second).entries(t)
			if len(got) != 3 {
				t.Fatalf("batch %d has %d entries", b, len(got))
			}
			for i, en := range got {
				if want := fmt.Sprintf("/bs?n=%d", b*3+i); en["request"].(map[string]any)["uri"] != want {
					t.Errorf("batch %d entry %d: %v, want %s", b, i, en["request"].(map[string]any)["uri"], want)
				}
			}
		}
		col.none(300 * time.Millisecond) // the 7th waits for more
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := col.next(time.Second).entries(t); len(got) != 1 {
			t.Errorf("flushed batch: %d entries", len(got))
		}
	})

	t.Run("by inactive timeout", func(t *testing.T) {
		col := newCollector(t)
		route("bi", loggerConf(col.srv.URL, `"batch_max_size":100,"inactive_timeout":1`))
		e.Get("/bi")
		last := time.Now()
		e.Get("/bi")
		p := col.next(3 * time.Second)
		if waited := p.at.Sub(last); waited < 900*time.Millisecond || waited > 2*time.Second {
			t.Errorf("sent %v after the last entry, want about inactive_timeout (1s)", waited)
		}
		if got := p.entries(t); len(got) != 2 {
			t.Errorf("batch has %d entries", len(got))
		}
	})

	t.Run("by buffer duration", func(t *testing.T) {
		col := newCollector(t)
		route("bd", loggerConf(col.srv.URL, `"batch_max_size":100,"inactive_timeout":5,"buffer_duration":1`))
		first := time.Now()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // keep the logger busy: never inactive
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					e.Get("/bd")
				}
			}
		}()
		e.Get("/bd")
		p := col.next(3 * time.Second)
		close(stop)
		wg.Wait()
		if age := p.at.Sub(first); age < 900*time.Millisecond || age > 2*time.Second {
			t.Errorf("sent %v after the first entry, want about buffer_duration (1s)", age)
		}
		if n := len(p.entries(t)); n < 5 {
			t.Errorf("batch has %d entries", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = Flush(ctx)
	})

	t.Run("new_line", func(t *testing.T) {
		col := newCollector(t)
		route("nl", loggerConf(col.srv.URL, `"batch_max_size":2,"concat_method":"new_line"`))
		e.Get("/nl?x=1")
		e.Get("/nl?x=2")
		p := col.next(2 * time.Second)
		if p.contentType != "text/plain" {
			t.Errorf("content type %q", p.contentType)
		}
		lines := strings.Split(string(p.body), "\n")
		if len(lines) != 2 {
			t.Fatalf("body %q", p.body)
		}
		for i, l := range lines {
			en := post{body: []byte(l)}.entry(t)
			if want := fmt.Sprintf("/nl?x=%d", i+1); en["request"].(map[string]any)["uri"] != want {
				t.Errorf("line %d: %v", i, en["request"])
			}
		}
	})
}

// TestLogFormat: log_format from the plugin's config, then from
// plugin_metadata, then the full entry.
func TestLogFormat(t *testing.T) {
	e := edgetest.New(t)
	up := upstreamAddr(t)
	col := newCollector(t)
	defer SetMetadata(nil)
	e.Put("/routes/lf-own", `{"uri":"/own","plugins":{"http-logger":`+loggerConf(col.srv.URL,
		`"batch_max_size":1,"log_format":{"host":"$host","client_ip":"$remote_addr","status":"$status","lit":"literal","n":7,`+
			`"lat":"$latency","missing":"$no_such_var","ua":"$http_user_agent","up":"$upstream_addr","code":"$response_status",`+
			`"sent_ct":"$sent_http_content_type","m":"$request_method","q":"$request_querystring","arg":"$arg_k"}`)+
		`},"upstream":{"nodes":{"`+up+`":1}}}`)
	e.Put("/routes/lf-meta", `{"uri":"/meta","plugins":{"http-logger":`+loggerConf(col.srv.URL, `"batch_max_size":1`)+
		`},"upstream":{"nodes":{"`+up+`":1}}}`)

	e.Get("/own?k=v", "User-Agent", "ua/1")
	got := col.next(2 * time.Second).entry(t)
	lat, _ := got["lat"].(float64)
	delete(got, "lat")
	want := map[string]any{"host": "127.0.0.1", "client_ip": "127.0.0.1", "status": "200", "lit": "literal", "n": 7.0,
		"ua": "ua/1", "up": up, "code": 200.0, "sent_ct": "application/json", "m": "GET",
		"q": map[string]any{"k": "v"}, "arg": "v", "route_id": "lf-own"}
	if diff := cmp.Diff(want, got); diff != "" || lat <= 0 {
		t.Errorf("own log_format (-want +got):\n%s\nlatency %v", diff, lat)
	}

	for _, c := range []struct {
		desc     string
		metadata map[string]any
		want     []string // keys of the entry
	}{
		{"no metadata: full entry", nil, []string{"client_ip", "latency", "request", "response", "route_id", "server", "start_time", "upstream"}},
		{"metadata log_format", map[string]any{"log_format": map[string]any{"h": "$host", "t": "$time_iso8601"}}, []string{"h", "route_id", "t"}},
		{"metadata without log_format: the schema default", map[string]any{}, []string{"@timestamp", "client_ip", "host", "route_id"}},
		{"empty metadata log_format: full entry", map[string]any{"log_format": map[string]any{}}, []string{"client_ip", "latency", "request", "response", "route_id", "server", "start_time", "upstream"}},
	} {
		t.Run(c.desc, func(t *testing.T) {
			SetMetadata(c.metadata)
			e.Get("/meta")
			got := col.next(2 * time.Second).entry(t)
			var keys []string
			for k := range got {
				keys = append(keys, k)
			}
			if diff := cmp.Diff(c.want, keys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if ts, ok := got["t"].(string); ok {
				if _, err := time.Parse(time.RFC3339, ts); err != nil {
					t.Errorf("time_iso8601 %q: %v", ts, err)
				}
			}
		})
	}
}

// TestBodies: include_req_body/include_resp_body with their expressions,
// the 512 KiB bound and a gzip response decoded for the log.
func TestBodies(t *testing.T) {
	e := edgetest.New(t)
	col := newCollector(t)
	up := upstreamAddr(t)
	e.Put("/routes/bo", `{"uri":"/bo","plugins":{"http-logger":`+loggerConf(col.srv.URL,
		`"batch_max_size":1,"include_req_body":true,"include_req_body_expr":[["arg_log","==","yes"]],`+
			`"include_resp_body":true,"include_resp_body_expr":[["http_x_resp","==","1"]]`)+`},"upstream":{"nodes":{"`+up+`":1}}}`)
	big := strings.Repeat("b", maxBodyBytes+1000)
	for _, c := range []struct {
		desc             string
		path, body       string
		hdr              []string
		wantReq, wantRsp any
	}{
		{"neither", "/bo", "abc", nil, nil, nil},
		{"request body", "/bo?log=yes", "abc", nil, "abc", nil},
		{"response body", "/bo", "abc", []string{"X-Resp", "1"}, nil, `{"ok":true}`},
		{"bounded request body", "/bo?log=yes", big, nil, big[:maxBodyBytes], nil},
	} {
		t.Run(c.desc, func(t *testing.T) {
			r := e.Do("POST", c.path, c.body, c.hdr...)
			if r.Status != 200 || r.Body != `{"ok":true}` {
				t.Fatalf("proxied: %d %q", r.Status, r.Body)
			}
			got := col.next(2 * time.Second).entry(t)
			if b := got["request"].(map[string]any)["body"]; b != c.wantReq {
				t.Errorf("request body: %.40v (%d bytes), want %.40v", b, len(fmt.Sprint(b)), c.wantReq)
			}
			if b := got["response"].(map[string]any)["body"]; b != c.wantRsp {
				t.Errorf("response body: %v, want %v", b, c.wantRsp)
			}
		})
	}

	t.Run("gzip response decoded", func(t *testing.T) {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write([]byte("compressed hello"))
		_ = zw.Close()
		gz := newGzipUpstream(t, zb.Bytes())
		e.Put("/routes/gz", `{"uri":"/gz","plugins":{"http-logger":`+loggerConf(col.srv.URL,
			`"batch_max_size":1,"include_resp_body":true`)+`},"upstream":{"nodes":{"`+gz+`":1}}}`)
		r := e.Do("GET", "/gz", "", "Accept-Encoding", "gzip")
		if r.Status != 200 || r.Body != zb.String() {
			t.Fatalf("proxied: %d %q", r.Status, r.Body)
		}
		got := col.next(2 * time.Second).entry(t)
		if b := got["response"].(map[string]any)["body"]; b != "compressed hello" {
			t.Errorf("response body %q", b)
		}
	})
}

// TestCollectorDown: a failing collector costs the requests nothing; a
// batch is tried 1+max_retry_count times, then dropped and counted.
func TestCollectorDown(t *testing.T) {
	e := edgetest.New(t)
	up := upstreamAddr(t)

	t.Run("answers 500", func(t *testing.T) {
		col := newCollector(t)
		col.status = 500
		failed0, errs0 := value(droppedFailed), value(sendErrors)
		e.Put("/routes/cd", `{"uri":"/cd","plugins":{"http-logger":`+loggerConf(col.srv.URL,
			`"batch_max_size":2,"max_retry_count":2,"retry_delay":0`)+`},"upstream":{"nodes":{"`+up+`":1}}}`)
		for i := 0; i < 4; i++ {
			if r := e.Get("/cd"); r.Status != 200 {
				t.Fatalf("request %d: %d", i, r.Status)
			}
		}
		waitUntil(t, 5*time.Second, func() bool { return value(droppedFailed)-failed0 == 4 })
		if n := col.attempts(); n != 6 { // 2 batches x (1 + 2 retries)
			t.Errorf("collector saw %d attempts, want 6", n)
		}
		if d := value(sendErrors) - errs0; d != 6 {
			t.Errorf("send errors grew by %v, want 6", d)
		}
	})

	t.Run("refuses connections", func(t *testing.T) {
		col := newCollector(t)
		url := col.srv.URL
		col.srv.Close()
		failed0 := value(droppedFailed)
		e.Put("/routes/cr", `{"uri":"/cr","plugins":{"http-logger":`+loggerConf(url,
			`"batch_max_size":1,"max_retry_count":1,"retry_delay":1`)+`},"upstream":{"nodes":{"`+up+`":1}}}`)
		for i := 0; i < 5; i++ {
			if r := e.Get("/cr"); r.Status != 200 || r.Took > 3*time.Second {
				t.Fatalf("request %d: %d in %v", i, r.Status, r.Took)
			}
		}
		waitUntil(t, 5*time.Second, func() bool { return value(droppedFailed)-failed0 == 5 })
	})
}

// TestCollectorSlow: a collector that does not answer neither slows the
// requests nor grows the buffer past its bound; the excess is dropped and
// counted, and what was kept is delivered once the collector answers.
func TestCollectorSlow(t *testing.T) {
	e := edgetest.New(t)
	up := upstreamAddr(t)
	col := newCollector(t)
	col.block = make(chan struct{})
	defer SetMetadata(nil)
	SetMetadata(map[string]any{"log_format": map[string]any{}, "max_pending_entries": 20})
	full0, sent0 := value(droppedFull), value(sentEntries)
	e.Put("/routes/cs", `{"uri":"/cs","plugins":{"http-logger":`+loggerConf(col.srv.URL,
		`"batch_max_size":5,"timeout":10`)+`},"upstream":{"nodes":{"`+up+`":1}}}`)
	var slowest time.Duration
	for i := 0; i < 60; i++ {
		r := e.Get("/cs")
		if r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
		slowest = max(slowest, r.Took)
	}
	// A request that waited on the collector would take its 10 s
	// timeout; the margin absorbs a loaded CI machine.
	if slowest > 3*time.Second {
		t.Errorf("slowest request %v while the collector hangs", slowest)
	}
	if p := pendingOf("routes/cs"); p != 20 {
		t.Errorf("pending %v, want the bound (20)", p)
	}
	if d := value(droppedFull) - full0; d != 40 {
		t.Errorf("dropped %v, want 40", d)
	}
	close(col.block)
	waitUntil(t, 5*time.Second, func() bool { return value(sentEntries)-sent0 == 20 })
	for i := 0; i < 4; i++ {
		if n := len(col.next(time.Second).entries(t)); n != 5 {
			t.Errorf("batch %d: %d entries", i, n)
		}
	}
}

// TestConfigSwapKeepsBuffer: recompiling the route (another field
// changed) keeps the logger's buffer; a changed logger config starts a new
// one and the old buffer is still delivered.
func TestConfigSwapKeepsBuffer(t *testing.T) {
	e := edgetest.New(t)
	up := upstreamAddr(t)
	col := newCollector(t)
	conf := loggerConf(col.srv.URL, `"batch_max_size":4,"inactive_timeout":30`)
	e.Put("/routes/sw", `{"uri":"/sw","desc":"v1","plugins":{"http-logger":`+conf+`},"upstream":{"nodes":{"`+up+`":1}}}`)
	e.Get("/sw?n=1")
	e.Get("/sw?n=2")
	e.Put("/routes/sw", `{"uri":"/sw","desc":"v2","plugins":{"http-logger":`+conf+`},"upstream":{"nodes":{"`+up+`":1}}}`)
	e.Get("/sw?n=3")
	e.Get("/sw?n=4")
	if got := col.next(2 * time.Second).entries(t); len(got) != 4 {
		t.Errorf("batch across the swap: %d entries", len(got))
	}

	e.Get("/sw?n=5")
	e.Put("/routes/sw", `{"uri":"/sw","plugins":{"http-logger":`+loggerConf(col.srv.URL, `"batch_max_size":1`)+`},"upstream":{"nodes":{"`+up+`":1}}}`)
	e.Get("/sw?n=6")
	if got := col.next(2 * time.Second).entry(t); got["request"].(map[string]any)["uri"] != "/sw?n=6" {
		t.Errorf("new config: %v", got["request"])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := col.next(time.Second).entries(t); len(got) != 1 || got[0]["request"].(map[string]any)["uri"] != "/sw?n=5" {
		t.Errorf("old buffer: %v", got)
	}
}

// TestNoGoroutineLeak: the sender goroutine exists only while there is
// something to send, and a logger nothing uses any more is forgotten.
func TestNoGoroutineLeak(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	e := edgetest.New(t)
	us := upstreamServer(t)
	up := strings.TrimPrefix(us.URL, "http://")
	col := newCollector(t)
	e.Put("/routes/gl", `{"uri":"/gl","plugins":{"http-logger":`+loggerConf(col.srv.URL, `"batch_max_size":2`)+`},"upstream":{"nodes":{"`+up+`":1}}}`)
	for i := 0; i < 4; i++ {
		e.Get("/gl")
	}
	col.next(2 * time.Second)
	col.next(2 * time.Second)
	waitUntil(t, 2*time.Second, func() bool { return !hasSender() })

	e.Delete("/routes/gl")
	e.Close()
	us.Close()
	col.srv.Close()
	waitUntil(t, 5*time.Second, func() bool {
		runtime.GC()
		processors.Lock()
		defer processors.Unlock()
		for k := range processors.m {
			if strings.HasPrefix(k, "routes/gl\x00") {
				return false
			}
		}
		return true
	})
	goleak.VerifyNone(t, ignore)
}

func hasSender() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "httplogger.(*processor).run")
}

func waitUntil(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func value(c prom.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// pendingOf is the number of entries pending in the loggers of an object.
func pendingOf(key string) int {
	processors.Lock()
	defer processors.Unlock()
	n := 0
	for k, p := range processors.m {
		if strings.HasPrefix(k, key+"\x00") {
			p.mu.Lock()
			n += p.pending
			p.mu.Unlock()
		}
	}
	return n
}

// TestGlobalAndRouteLoggers: a global rule and a route may both log a
// request; each gets its own entry, bodies included.
func TestGlobalAndRouteLoggers(t *testing.T) {
	e := edgetest.New(t)
	up := upstreamAddr(t)
	cg, cr := newCollector(t), newCollector(t)
	e.Put("/global_rules/1", `{"plugins":{"http-logger":`+loggerConf(cg.srv.URL, `"batch_max_size":1,"include_req_body":true,"include_resp_body":true`)+`}}`)
	e.Put("/routes/gr", `{"uri":"/gr","plugins":{"http-logger":`+loggerConf(cr.srv.URL, `"batch_max_size":1,"include_req_body":true,"include_resp_body":true`)+`},"upstream":{"nodes":{"`+up+`":1}}}`)
	if r := e.Do("POST", "/gr", "payload"); r.Status != 200 {
		t.Fatalf("status %d", r.Status)
	}
	for name, c := range map[string]*collector{"global": cg, "route": cr} {
		got := c.next(2 * time.Second).entry(t)
		if got["request"].(map[string]any)["body"] != "payload" || got["response"].(map[string]any)["body"] != `{"ok":true}` {
			t.Errorf("%s logger: %v %v", name, got["request"], got["response"])
		}
	}
	if n := nStates.Load(); n != 0 {
		t.Errorf("%d request states left behind", n)
	}
}
