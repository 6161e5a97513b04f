package clientcontrol_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

// chunked sends body with Transfer-Encoding: chunked (no Content-Length).
func chunked(t *testing.T, e *edgetest.Env, path, body string) edgetest.Result {
	t.Helper()
	req, _ := http.NewRequest("POST", e.HTTPURL+path, io.NopCloser(strings.NewReader(body)))
	req.ContentLength = -1
	res, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return edgetest.Result{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

func TestClientControl(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/1", `{"uri":"/limited","plugins":{"client-control":{"max_body_size":5}},"upstream":`+up.Upstream()+`}`)
	e.Put("/routes/2", `{"uri":"/unlimited","plugins":{"client-control":{"max_body_size":0}},"upstream":`+up.Upstream()+`}`)
	page := string(plugin.ErrorPage(413))
	for _, tc := range []struct {
		desc, path, body string
		chunked          bool
		status           int
	}{
		{desc: "under", path: "/limited", body: "1234", status: 200},
		{desc: "exact", path: "/limited", body: "12345", status: 200},
		{desc: "over", path: "/limited", body: "123456", status: 413},
		{desc: "chunked under", path: "/limited", body: "12345", chunked: true, status: 200},
		{desc: "chunked over", path: "/limited", body: "1234567890", chunked: true, status: 413},
		{desc: "zero is no limit", path: "/unlimited", body: strings.Repeat("x", 10000), status: 200},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var r edgetest.Result
			if tc.chunked {
				r = chunked(t, e, tc.path, tc.body)
			} else {
				r = e.Do("POST", tc.path, tc.body)
			}
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (%s)", r.Status, tc.status, r.Body)
			}
			if tc.status == 413 {
				if r.Body != page || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
					t.Errorf("413 answer %q %q, want nginx's page", r.Header.Get("Content-Type"), r.Body)
				}
				return
			}
			if s := edgetest.Decode(t, r.Body); s.Body != tc.body {
				t.Errorf("upstream got %q, want %q", s.Body, tc.body)
			}
		})
	}
}

// A declared Content-Length over the cap is refused before the body is
// read.
func TestClientControlDeclaredLength(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	e.Put("/routes/1", `{"uri":"/limited","plugins":{"client-control":{"max_body_size":5}},"upstream":`+up.Upstream()+`}`)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.HTTPURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 413 || up.Hits() != 0 {
		t.Fatalf("status %d, upstream hits %d; want 413 and none", res.StatusCode, up.Hits())
	}
}
