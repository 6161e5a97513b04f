package mocking_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func TestMocking(t *testing.T) {
	e := edgetest.New(t)
	var hits atomic.Int64
	up := edgetest.Serve(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	e.Route("example", "/example", up, `{"mocking":{"response_example":"{\"uri\":\"$uri\",\"x\":\"${arg_x}\",\"none\":\"$nope\",\"esc\":\"\\$uri\"}",`+
		`"response_status":201,"response_headers":{"X-Mock":"1","X-Num":2}}}`)
	e.Route("plain", "/plain", up, `{"mocking":{"response_example":"hello","content_type":"text/plain","with_mock_header":false}}`)
	e.Route("schema", "/schema", up, `{"mocking":{"response_schema":{"type":"object","properties":{`+
		`"name":{"type":"string","example":"stargate"},"rand":{"type":"string"},"count":{"type":"integer","example":3.7},`+
		`"ratio":{"type":"number"},"ok":{"type":"boolean","example":true},"tags":{"type":"array","items":{"type":"string"}},`+
		`"nested":{"type":"object","properties":{"id":{"type":"integer"}}},"untyped":{}}}}}`)
	e.Route("xml", "/xml", up, `{"mocking":{"content_type":"application/xml","response_schema":{"type":"object","properties":{`+
		`"name":{"type":"string","example":"stargate"},"nested":{"type":"object","properties":{"ok":{"type":"boolean","example":false}}}}}}}`)
	e.Route("html", "/html", up, `{"mocking":{"content_type":"text/html","response_schema":{"type":"object"}}}`)
	e.Route("delay", "/delay", up, `{"mocking":{"response_example":"late","delay":1}}`)

	t.Run("example", func(t *testing.T) {
		r := e.Get("/example?x=42")
		if r.Status != 201 || r.Body != `{"uri":"/example","x":"42","none":"","esc":"\$uri"}` {
			t.Fatalf("%d %q", r.Status, r.Body)
		}
		for k, want := range map[string]string{"Content-Type": "application/json;charset=utf8",
			"X-Mock-By": "APISIX/3.18.0", "X-Mock": "1", "X-Num": "2"} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s %q, want %q", k, got, want)
			}
		}
	})

	t.Run("without mock header", func(t *testing.T) {
		r := e.Get("/plain")
		if r.Status != 200 || r.Body != "hello" || r.Header.Get("Content-Type") != "text/plain" || r.Header.Get("X-Mock-By") != "" {
			t.Errorf("%d %q %v", r.Status, r.Body, r.Header)
		}
	})

	t.Run("generated JSON", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			r := e.Get("/schema")
			var got struct {
				Name    string   `json:"name"`
				Rand    string   `json:"rand"`
				Count   int      `json:"count"`
				Ratio   float64  `json:"ratio"`
				OK      bool     `json:"ok"`
				Tags    []string `json:"tags"`
				Nested  struct{ ID int }
				Untyped *any `json:"untyped"`
			}
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
				t.Fatalf("%q: %v", r.Body, err)
			}
			if got.Name != "stargate" || got.Count != 3 || !got.OK || got.Untyped != nil {
				t.Errorf("examples not used: %s", r.Body)
			}
			if n := len(got.Rand); n < 1 || n > 10 || strings.Trim(got.Rand, "abcdefghijklmnopqrstuvwxyz") != "" {
				t.Errorf("random string %q", got.Rand)
			}
			if len(got.Tags) < 1 || len(got.Tags) > 3 || got.Nested.ID < 1 || got.Nested.ID > 10000 ||
				got.Ratio < 0 || got.Ratio > 10000 {
				t.Errorf("random values out of range: %s", r.Body)
			}
		}
	})

	t.Run("generated XML", func(t *testing.T) {
		r := e.Get("/xml")
		want := "<data>\n  <name>stargate</name>\n  <nested>\n    <ok>false</ok>\n  </nested>\n</data>"
		if r.Status != 200 || r.Body != want || r.Header.Get("Content-Type") != "application/xml" {
			t.Errorf("%d %q %q", r.Status, r.Body, r.Header.Get("Content-Type"))
		}
	})

	t.Run("schema with a type it cannot generate", func(t *testing.T) {
		if r := e.Get("/html"); r.Status != 200 || r.Body != "" {
			t.Errorf("%d %q", r.Status, r.Body)
		}
	})

	t.Run("delay", func(t *testing.T) {
		start := time.Now()
		r := e.Get("/delay")
		if d := time.Since(start); r.Body != "late" || d < time.Second || d > 5*time.Second {
			t.Errorf("%q after %v", r.Body, d)
		}
	})

	if n := hits.Load(); n != 0 {
		t.Errorf("upstream called %d times", n)
	}

	t.Run("unsupported content type", func(t *testing.T) {
		code, body := e.Admin("PUT", "/routes/bad", `{"uri":"/x","plugins":{"mocking":{"response_example":"x","content_type":"image/png"}}}`)
		if code != 400 || !strings.Contains(body, `failed to check the configuration of plugin mocking err: unsupported content type!`) {
			t.Errorf("%d %s", code, body)
		}
	})
}
