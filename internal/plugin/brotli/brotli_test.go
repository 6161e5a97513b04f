package brotli_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"

	"github.com/stargate-edge/stargate/internal/testutil/edgetest"

	"github.com/andybalholm/brotli"
)

var html = "<html><body>" + strings.Repeat("<p>Stargate speaks APISIX.</p>\n", 200) + "</body></html>"

func unbrotli(t *testing.T, b string) string {
	t.Helper()
	out, err := io.ReadAll(brotli.NewReader(strings.NewReader(b)))
	if err != nil {
		t.Fatalf("bad brotli stream: %v", err)
	}
	return string(out)
}

// pages starts an upstream answering with html; query knobs: ct, enc,
// status, small, chunked.
func pages(t *testing.T) string {
	return edgetest.Serve(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		h := w.Header()
		ct := "text/html"
		if v := q.Get("ct"); v != "" {
			ct = v
		}
		h.Set("Content-Type", ct)
		h.Set("Etag", `"v1"`)
		if v := q.Get("enc"); v != "" {
			h.Set("Content-Encoding", v)
		}
		body := html
		if q.Get("small") != "" {
			body = "<p>tiny</p>"
		}
		if q.Get("chunked") == "" {
			h.Set("Content-Length", fmt.Sprint(len(body)))
		}
		status := 200
		fmt.Sscan(q.Get("status"), &status)
		w.WriteHeader(status)
		if status == 204 || status == 304 {
			return
		}
		for i := 0; i < len(body); i += 1000 {
			_, _ = io.WriteString(w, body[i:min(i+1000, len(body))])
			w.(http.Flusher).Flush()
		}
	})
}

func TestBrotli(t *testing.T) {
	e := edgetest.New(t)
	up := pages(t)
	e.Route("default", "/default", up, `{"brotli":{}}`)
	e.Route("opts", "/opts", up, `{"brotli":{"types":"*","min_length":100,"comp_level":11,"lgwin":0,"mode":1,"lgblock":16,"vary":true}}`)
	e.Route("both", "/both", up, `{"brotli":{"vary":true},"gzip":{"vary":true}}`)
	e.Route("v10", "/v10", up, `{"brotli":{"http_version":1.0}}`)
	e.Route("rejected", "/rejected", up, `{"brotli":{"types":"*"},"ua-restriction":{"denylist":["bot"],"message":"`+strings.Repeat("x", 100)+`"}}`)

	acc := []string{"Accept-Encoding", "br"}
	for _, tc := range []struct {
		desc, target string
		hdr          []string
		encoding     string // "" plain, "br", "gzip"
		vary         string
	}{
		{"compressed", "/default", acc, "br", ""},
		{"no Accept-Encoding", "/default", nil, "", ""},
		{"star", "/default", []string{"Accept-Encoding", "*"}, "br", ""},
		{"br among others", "/default", []string{"Accept-Encoding", "gzip, deflate, br"}, "br", ""},
		{"br with q", "/default", []string{"Accept-Encoding", "gzip;q=1.0, br;q=0.8"}, "br", ""},
		{"br refused with q=0", "/default", []string{"Accept-Encoding", "gzip, br;q=0"}, "", ""},
		{"other encodings only", "/default", []string{"Accept-Encoding", "gzip, deflate"}, "", ""},
		{"tokens are lowercase", "/default", []string{"Accept-Encoding", "BR"}, "", ""},
		{"type not listed", "/default?ct=application/json", acc, "", ""},
		{"shorter than min_length", "/default?small=1", acc, "", ""},
		{"unknown length", "/default?small=1&chunked=1", acc, "br", ""},
		{"streamed", "/default?chunked=1", acc, "br", ""},
		{"already encoded", "/default?enc=gzip", acc, "gzip", ""},
		{"any status", "/default?status=500", acc, "br", ""},
		{"no body for 204", "/default?status=204", acc, "", ""},
		{"options: all types", "/opts?ct=application/octet-stream", acc, "br", "Accept-Encoding"},
		{"options: short", "/opts?small=1", acc, "", ""},
		{"options: no vary unless accepted", "/opts", nil, "", ""},
		{"with gzip: brotli wins", "/both", []string{"Accept-Encoding", "gzip, br"}, "br", "Accept-Encoding"},
		{"with gzip: gzip when br is not accepted", "/both", []string{"Accept-Encoding", "gzip"}, "gzip", "Accept-Encoding"},
		{"with gzip: neither", "/both", nil, "", "Accept-Encoding"},
		{"a plugin's rejection is compressed", "/rejected", []string{"Accept-Encoding", "br", "User-Agent", "bot"}, "br", ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := e.Get(tc.target, tc.hdr...)
			ce := r.Header.Get("Content-Encoding")
			if ce != tc.encoding {
				t.Fatalf("Content-Encoding %q, want %q (status %d)", ce, tc.encoding, r.Status)
			}
			if got := strings.Join(r.Header.Values("Vary"), ", "); got != tc.vary {
				t.Errorf("Vary %q, want %q", got, tc.vary)
			}
			want := html
			switch {
			case strings.Contains(tc.target, "small"):
				want = "<p>tiny</p>"
			case strings.Contains(tc.target, "204"):
				want = ""
			case strings.HasPrefix(tc.target, "/rejected"):
				want = `{"message":"` + strings.Repeat("x", 100) + `"}` + "\n"
			}
			switch ce {
			case "br":
				if r.Header.Get("Content-Length") != "" && r.Header.Get("Content-Length") != fmt.Sprint(len(r.Body)) {
					t.Errorf("Content-Length %s for %d bytes", r.Header.Get("Content-Length"), len(r.Body))
				}
				if r.Header.Get("Etag") != "" {
					t.Errorf("ETag kept: %q", r.Header.Get("Etag"))
				}
				if got := unbrotli(t, r.Body); got != want {
					t.Errorf("decoded %d bytes, want %d", len(got), len(want))
				}
			case "gzip":
				if strings.Contains(tc.target, "enc=gzip") {
					if r.Body != html {
						t.Errorf("upstream's encoded body was changed")
					}
					return
				}
				zr, err := gzip.NewReader(strings.NewReader(r.Body))
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := io.ReadAll(zr); string(got) != want {
					t.Errorf("gzip body differs")
				}
			default:
				if r.Body != want {
					t.Errorf("body %d bytes, want %d", len(r.Body), len(want))
				}
			}
		})
	}

	t.Run("HTTP version", func(t *testing.T) {
		for _, tc := range []struct {
			path, proto string
			br          bool
		}{
			{"/default", "HTTP/1.0", false},
			{"/default", "HTTP/1.1", true},
			{"/v10", "HTTP/1.0", true},
		} {
			r := e.Raw("GET " + tc.path + " " + tc.proto + "\nHost: x\nAccept-Encoding: br\nConnection: close\n\n")
			if got := r.Header.Get("Content-Encoding") == "br"; got != tc.br {
				t.Errorf("%s %s: br %v, want %v", tc.path, tc.proto, got, tc.br)
			}
			if tc.br && unbrotli(t, r.Body) != html {
				t.Errorf("%s %s: bad body", tc.path, tc.proto)
			}
		}
	})

	t.Run("curl decodes it", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("no curl")
		}
		if out, _ := exec.Command("curl", "--version").Output(); !bytes.Contains(out, []byte("brotli")) {
			t.Skip("curl without brotli")
		}
		for _, path := range []string{"/default", "/default?chunked=1", "/opts"} {
			out, err := exec.Command("curl", "-sS", "--max-time", "10", "-D", "-", "-H", "Accept-Encoding: br",
				"--compressed", e.HTTPURL+path).Output()
			if err != nil {
				t.Fatal(err)
			}
			head, body, _ := strings.Cut(string(out), "\r\n\r\n")
			if !strings.Contains(strings.ToLower(head), "content-encoding: br") || body != html {
				t.Errorf("curl %s: %s\n%d bytes", path, head, len(body))
			}
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan string, 48)
		for i := 0; i < 48; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				target := "/default"
				if i%2 == 1 {
					target = "/opts?chunked=1"
				}
				req, _ := http.NewRequest("GET", e.HTTPURL+target, nil)
				req.Header.Set("Accept-Encoding", "br")
				res, err := e.Client.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				defer res.Body.Close()
				b, err := io.ReadAll(brotli.NewReader(res.Body))
				if err != nil || string(b) != html {
					errs <- fmt.Sprintf("request %d: %v, %d bytes", i, err, len(b))
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})
}
