package gzip_test

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
)

// html is a compressible page longer than the default min_length.
var html = "<html><body>" + strings.Repeat("<p>Stargate speaks APISIX.</p>\n", 200) + "</body></html>"

func gunzip(t *testing.T, b string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("bad gzip stream: %v", err)
	}
	return string(out)
}

// pages starts an upstream answering with html; query knobs: ct, noct,
// status, enc, etag, chunked, small.
func pages(t *testing.T) string {
	return edgetest.Serve(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		h := w.Header()
		ct := "text/html; charset=utf-8"
		if v := q.Get("ct"); v != "" {
			ct = v
		}
		if v := q.Get("noct"); v == "" {
			h.Set("Content-Type", ct)
		} else {
			h["Content-Type"] = nil
		}
		if v := q.Get("enc"); v != "" {
			h.Set("Content-Encoding", v)
		}
		if v := q.Get("etag"); v != "" {
			h.Set("Etag", v)
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
		if q.Get("chunked") != "" {
			for i := 0; i < len(body); i += 1000 {
				_, _ = io.WriteString(w, body[i:min(i+1000, len(body))])
				w.(http.Flusher).Flush()
			}
			return
		}
		_, _ = io.WriteString(w, body)
	})
}

func TestGzip(t *testing.T) {
	e := edgetest.New(t)
	up := pages(t)
	e.Route("default", "/default", up, `{"gzip":{}}`)
	e.Route("vary", "/vary", up, `{"gzip":{"vary":true,"comp_level":9}}`)
	e.Route("types", "/types", up, `{"gzip":{"types":["application/json","text/css"]}}`)
	e.Route("all", "/all", up, `{"gzip":{"types":"*","min_length":100}}`)
	e.Route("v10", "/v10", up, `{"gzip":{"http_version":1.0}}`)

	acc := []string{"Accept-Encoding", "gzip"}
	for _, tc := range []struct {
		desc, target string
		hdr          []string
		gzipped      bool
		vary         string
	}{
		{"compressed", "/default", acc, true, ""},
		{"no Accept-Encoding", "/default", nil, false, ""},
		{"gzip among others, any case", "/default", []string{"Accept-Encoding", "deflate, GZIP, br"}, true, ""},
		{"gzip with q", "/default", []string{"Accept-Encoding", "gzip;q=0.5"}, true, ""},
		{"gzip refused with q=0", "/default", []string{"Accept-Encoding", "gzip;q=0"}, false, ""},
		{"gzip refused with q=0.000", "/default", []string{"Accept-Encoding", "br, gzip; q=0.000"}, false, ""},
		{"x-gzip is not gzip", "/default", []string{"Accept-Encoding", "x-gzip"}, false, ""},
		{"type not listed", "/default?ct=text/plain", acc, false, ""},
		{"no Content-Type", "/default?noct=1", acc, false, ""},
		{"shorter than min_length", "/default?small=1", acc, false, ""},
		{"unknown length is compressed", "/default?small=1&chunked=1", acc, true, ""},
		{"streamed body", "/default?chunked=1", acc, true, ""},
		{"already encoded", "/default?enc=br", acc, false, ""},
		{"404 is compressed", "/default?status=404", acc, true, ""},
		{"403 is compressed", "/default?status=403", acc, true, ""},
		{"500 is not", "/default?status=500", acc, false, ""},
		{"201 is not", "/default?status=201", acc, false, ""},
		{"vary", "/vary", acc, true, "Accept-Encoding"},
		{"vary even when not accepted", "/vary", nil, false, "Accept-Encoding"},
		{"listed type", "/types?ct=application/json", acc, true, ""},
		{"listed type with parameters", "/types?ct=text/css%3Bcharset=utf-8", acc, true, ""},
		{"html not listed", "/types", acc, false, ""},
		{"all types", "/all?ct=application/octet-stream", acc, true, ""},
		{"all types, short", "/all?small=1", acc, false, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := e.Get(tc.target, tc.hdr...)
			if r.Status/100 != 2 && r.Status != 403 && r.Status != 404 && r.Status != 500 {
				t.Fatalf("status %d", r.Status)
			}
			ce := r.Header.Get("Content-Encoding")
			if got := r.Header.Get("Vary"); got != tc.vary {
				t.Errorf("Vary %q, want %q", got, tc.vary)
			}
			if !tc.gzipped {
				if ce == "gzip" {
					t.Fatalf("compressed, want plain")
				}
				if ce == "" && r.Body != html && r.Body != "<p>tiny</p>" {
					t.Errorf("body changed: %q", r.Body[:min(len(r.Body), 80)])
				}
				return
			}
			if ce != "gzip" {
				t.Fatalf("Content-Encoding %q, want gzip", ce)
			}
			if cl := r.Header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(r.Body)) {
				t.Errorf("Content-Length %s for %d bytes", cl, len(r.Body))
			}
			want := html
			if strings.Contains(tc.target, "small") {
				want = "<p>tiny</p>"
			}
			if got := gunzip(t, r.Body); got != want {
				t.Errorf("decoded body differs (%d bytes, want %d)", len(got), len(want))
			}
			if !strings.Contains(tc.target, "small") && len(r.Body) >= len(want)/4 {
				t.Errorf("poor compression: %d of %d bytes", len(r.Body), len(want))
			}
		})
	}

	t.Run("ETag becomes weak", func(t *testing.T) {
		for etag, want := range map[string]string{`"abc"`: `W/"abc"`, `W/"abc"`: `W/"abc"`, `abc`: ""} {
			r := e.Get("/default?etag="+etag, acc...)
			if r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Etag") != want {
				t.Errorf("ETag %s: %q (%s), want %q", etag, r.Header.Get("Etag"), r.Header.Get("Content-Encoding"), want)
			}
		}
		if r := e.Get("/default?etag=%22abc%22"); r.Header.Get("Etag") != `"abc"` {
			t.Errorf("uncompressed ETag %q", r.Header.Get("Etag"))
		}
	})

	t.Run("HTTP version", func(t *testing.T) {
		for _, tc := range []struct {
			path, proto string
			gzipped     bool
		}{
			{"/default", "HTTP/1.0", false},
			{"/default", "HTTP/1.1", true},
			{"/v10", "HTTP/1.0", true},
		} {
			r := e.Raw("GET " + tc.path + " " + tc.proto + "\nHost: x\nAccept-Encoding: gzip\nConnection: close\n\n")
			if got := r.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
				t.Errorf("%s %s: gzipped %v, want %v", tc.path, tc.proto, got, tc.gzipped)
			}
			if tc.gzipped && gunzip(t, r.Body) != html {
				t.Errorf("%s %s: bad body", tc.path, tc.proto)
			}
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		r := e.Do("HEAD", "/default", "", acc...)
		if r.Header.Get("Content-Encoding") != "" || r.Body != "" {
			t.Errorf("HEAD: %v %q", r.Header, r.Body)
		}
	})

	t.Run("curl decodes it", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("no curl")
		}
		out, err := exec.Command("curl", "-sS", "--max-time", "10", "-D", "-", "-H", "Accept-Encoding: gzip",
			"--compressed", e.HTTPURL+"/vary").Output()
		if err != nil {
			t.Fatal(err)
		}
		head, body, _ := strings.Cut(string(out), "\r\n\r\n")
		if !strings.Contains(strings.ToLower(head), "content-encoding: gzip") || body != html {
			t.Errorf("curl: %s\n%d bytes", head, len(body))
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan string, 64)
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				target := "/default"
				if i%2 == 1 {
					target += "?chunked=1"
				}
				req, _ := http.NewRequest("GET", e.HTTPURL+target, nil)
				req.Header.Set("Accept-Encoding", "gzip")
				res, err := e.Client.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				defer res.Body.Close()
				zr, err := gzip.NewReader(res.Body)
				if err != nil {
					errs <- err.Error()
					return
				}
				b, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(b, []byte(html)) {
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
