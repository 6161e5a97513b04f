package proxymirror_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

type mirrored struct {
	method, uri, host, body, header string
}

// mirrorServer counts and records what it is sent; block delays answers.
type mirrorServer struct {
	host  string
	hits  atomic.Int64
	mu    sync.Mutex
	got   []mirrored
	block chan struct{}
}

func newMirror(t *testing.T, slow bool) *mirrorServer {
	m := &mirrorServer{}
	if slow {
		m.block = make(chan struct{})
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m.mu.Lock()
		m.got = append(m.got, mirrored{r.Method, r.RequestURI, r.Host, string(b), r.Header.Get("X-Test")})
		m.mu.Unlock()
		m.hits.Add(1)
		if m.block != nil {
			<-m.block
		}
		w.WriteHeader(500)
	}))
	t.Cleanup(func() {
		if m.block != nil {
			close(m.block)
		}
		s.Close()
	})
	m.host = s.URL
	return m
}

// wait waits until the mirror has had n requests.
func (m *mirrorServer) wait(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for m.hits.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("mirror got %d requests, want %d", m.hits.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (m *mirrorServer) last() mirrored {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.got[len(m.got)-1]
}

func TestProxyMirror(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	mir := newMirror(t, false)
	n := int64(0)
	for _, tc := range []struct {
		desc, conf, method, path, body string
		want                           mirrored
	}{
		{desc: "get", conf: fmt.Sprintf(`{"host":%q}`, mir.host), method: "GET", path: "/hello?a=1",
			want: mirrored{method: "GET", uri: "/hello?a=1", host: "svc", header: "t"}},
		{desc: "post body", conf: fmt.Sprintf(`{"host":%q}`, mir.host), method: "POST", path: "/hello", body: "payload",
			want: mirrored{method: "POST", uri: "/hello", host: "svc", body: "payload", header: "t"}},
		{desc: "path replace", conf: fmt.Sprintf(`{"host":%q,"path":"/m"}`, mir.host), method: "GET", path: "/hello?a=1",
			want: mirrored{method: "GET", uri: "/m?a=1", host: "svc", header: "t"}},
		{desc: "path prefix", conf: fmt.Sprintf(`{"host":%q,"path":"/m","path_concat_mode":"prefix"}`, mir.host), method: "GET", path: "/hello?a=1",
			want: mirrored{method: "GET", uri: "/m/hello?a=1", host: "svc", header: "t"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			e.Put("/routes/1", fmt.Sprintf(`{"uri":"/hello","plugins":{"proxy-mirror":%s},"upstream":%s}`, tc.conf, up.Upstream()))
			r := e.Do(tc.method, tc.path, tc.body, "Host", "svc", "X-Test", "t")
			if r.Status != 200 {
				t.Fatalf("main request: %d %s", r.Status, r.Body)
			}
			if s := edgetest.Decode(t, r.Body); s.Body != tc.body {
				t.Errorf("upstream got body %q", s.Body)
			}
			n++
			mir.wait(t, n)
			if got := mir.last(); got != tc.want {
				t.Errorf("mirror got %+v, want %+v", got, tc.want)
			}
		})
	}

	t.Run("rejected requests are not mirrored", func(t *testing.T) {
		e.Put("/routes/1", fmt.Sprintf(`{"uri":"/hello","plugins":{"proxy-mirror":{"host":%q},"ip-restriction":{"blacklist":["127.0.0.1"]}},"upstream":%s}`, mir.host, up.Upstream()))
		if r := e.Get("/hello"); r.Status != 403 {
			t.Fatalf("status %d", r.Status)
		}
		time.Sleep(100 * time.Millisecond)
		if got := mir.hits.Load(); got != n {
			t.Errorf("mirror got %d requests, want %d", got, n)
		}
	})
}

// A mirror that never answers (or is down) changes nothing for clients.
func TestProxyMirrorSlowOrDown(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	slow := newMirror(t, true)
	for _, host := range []string{slow.host, "http://127.0.0.1:1"} {
		e.Put("/routes/1", fmt.Sprintf(`{"uri":"/hello","plugins":{"proxy-mirror":{"host":%q}},"upstream":%s}`, host, up.Upstream()))
		start := time.Now()
		for i := 0; i < 50; i++ {
			if r := e.Get("/hello"); r.Status != 200 {
				t.Fatalf("%s: request %d: %d", host, i, r.Status)
			}
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: 50 requests took %v", host, d)
		}
	}
	if slow.hits.Load() == 0 {
		t.Error("the slow mirror got nothing")
	}
}

func TestProxyMirrorSampleRatio(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	mir := newMirror(t, false)
	e.Put("/routes/1", fmt.Sprintf(`{"uri":"/hello","plugins":{"proxy-mirror":{"host":%q,"sample_ratio":0.5}},"upstream":%s}`, mir.host, up.Upstream()))
	const total = 400
	for i := 0; i < total; i++ {
		if r := e.Get("/hello"); r.Status != 200 {
			t.Fatalf("status %d", r.Status)
		}
	}
	time.Sleep(300 * time.Millisecond)
	// Binomial(400, 0.5): 140..260 is over 9 standard deviations wide.
	if got := mir.hits.Load(); got < 140 || got > 260 {
		t.Errorf("mirrored %d of %d at ratio 0.5", got, total)
	}
}
