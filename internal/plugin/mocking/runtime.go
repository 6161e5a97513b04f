package mocking

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
	"github.com/stargate-edge/stargate/internal/plugin/tmpl"
)

// MockBy is the x-mock-by header value. APISIX sends "APISIX/<version>";
// Stargate names the APISIX version it is compatible with, so clients that
// look for the APISIX prefix keep working.
const MockBy = "APISIX/3.18.0"

// mock is the mocking plugin compiled: it answers in the access phase
// without calling the upstream.
type mock struct {
	status  int
	ct      string
	example *tmpl.Template // response_example
	schema  map[string]any // response_schema, when no example
	format  string         // "json", "xml" or "" (nothing generated)
	mockBy  bool
	delay   time.Duration
	headers [][2]string
}

var _ plugin.Accessor = (*mock)(nil)

func newMock(conf map[string]any) (any, error) {
	m := &mock{status: 200, ct: "application/json;charset=utf8", mockBy: true}
	if n, ok := confcheck.Number(conf["response_status"]); ok {
		m.status = int(n)
	}
	if ct, ok := confcheck.String(conf, "content_type"); ok {
		m.ct = ct
	}
	if ex, ok := confcheck.String(conf, "response_example"); ok {
		t := tmpl.Compile(ex)
		m.example = &t
	} else if s, ok := confcheck.Object(conf, "response_schema"); ok {
		m.schema = s
		switch mediaType(m.ct) {
		case "application/xml", "text/xml":
			m.format = "xml"
		case "application/json", "text/plain":
			m.format = "json"
		}
	}
	if b, ok := confcheck.Bool(conf, "with_mock_header"); ok {
		m.mockBy = b
	}
	if n, ok := confcheck.Number(conf["delay"]); ok && n > 0 {
		m.delay = time.Duration(n * float64(time.Second))
	}
	if hs, ok := confcheck.Object(conf, "response_headers"); ok {
		for k, v := range hs {
			val, isStr := v.(string)
			if !isStr {
				f, _ := confcheck.Number(v)
				val = strconv.FormatFloat(f, 'g', 14, 64)
			}
			m.headers = append(m.headers, [2]string{http.CanonicalHeaderKey(k), val})
		}
		sort.Slice(m.headers, func(i, j int) bool { return m.headers[i][0] < m.headers[j][0] })
	}
	return m, nil
}

func (m *mock) Access(c *plugin.Ctx) {
	var body string
	switch {
	case m.example != nil:
		body = m.example.Render(c.Vars)
	case m.format == "json":
		b, _ := json.Marshal(genObject(m.schema))
		body = string(b)
	case m.format == "xml":
		body = toXML(genObject(m.schema), "data")
	}
	h := c.RespHeader
	h.Set("Content-Type", m.ct)
	if m.mockBy {
		h.Set("X-Mock-By", MockBy)
	}
	for _, kv := range m.headers {
		h.Add(kv[0], kv[1])
	}
	if m.delay > 0 {
		t := time.NewTimer(m.delay)
		select {
		case <-t.C:
		case <-c.Req.Context().Done():
			t.Stop()
		}
	}
	c.Exit(m.status, []byte(body))
}

// The generators follow APISIX's gen_by_property: an "example" of the
// right type is used as is, anything else is random.

func genBy(p map[string]any) (any, bool) {
	typ, _ := p["type"].(string)
	example := p["example"]
	switch strings.ToLower(typ) {
	case "array":
		items, ok := p["items"].(map[string]any)
		if !ok {
			return nil, false
		}
		n := rand.IntN(3) + 1
		out := make([]any, 0, n)
		for range n {
			v, ok := genBy(items)
			if !ok {
				v = nil
			}
			out = append(out, v)
		}
		return out, true
	case "object":
		return genObject(p), true
	case "string":
		if s, ok := example.(string); ok {
			return s, true
		}
		n := rand.IntN(10) + 1
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rand.IntN(26))
		}
		return string(b), true
	case "number":
		if f, ok := confcheck.Number(example); ok {
			return luaNumber(f), true
		}
		return luaNumber(rand.Float64() * 10000), true
	case "integer":
		if f, ok := confcheck.Number(example); ok {
			return luaNumber(math.Floor(f)), true
		}
		return json.Number(strconv.Itoa(rand.IntN(10000) + 1)), true
	case "boolean":
		if b, ok := example.(bool); ok {
			return b, true
		}
		return rand.IntN(2) == 1, true
	}
	return nil, false
}

func genObject(p map[string]any) map[string]any {
	out := map[string]any{}
	props, _ := p["properties"].(map[string]any)
	for k, v := range props {
		if pm, ok := v.(map[string]any); ok {
			if val, ok := genBy(pm); ok {
				out[k] = val
			}
		}
	}
	return out
}

// luaNumber formats as lua-cjson encodes numbers (%.14g).
func luaNumber(f float64) json.Number {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return json.Number(strconv.FormatInt(int64(f), 10))
	}
	return json.Number(strconv.FormatFloat(f, 'g', 14, 64))
}

// toXML renders generated data as xml2lua.toXml(output, "data") does:
// one element per key, arrays as repeated elements, two spaces of indent
// per level.
func toXML(v map[string]any, root string) string {
	var b strings.Builder
	b.WriteString("<" + root + ">")
	writeXML(&b, v, 1)
	b.WriteString("\n</" + root + ">")
	return b.String()
}

func writeXML(b *strings.Builder, v map[string]any, level int) {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		writeElem(b, k, v[k], level)
	}
}

func writeElem(b *strings.Builder, k string, v any, level int) {
	indent := strings.Repeat("  ", level)
	switch t := v.(type) {
	case map[string]any:
		fmt.Fprintf(b, "\n%s<%s>", indent, k)
		writeXML(b, t, level+1)
		fmt.Fprintf(b, "\n%s</%s>", indent, k)
	case []any:
		for _, e := range t {
			writeElem(b, k, e, level)
		}
	default:
		fmt.Fprintf(b, "\n%s<%s>%s</%s>", indent, k, xmlText(t), k)
	}
}

func xmlText(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	}
	return fmt.Sprint(v)
}
