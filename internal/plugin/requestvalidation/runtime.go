package requestvalidation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
	"github.com/stargate-edge/stargate/internal/schema"
)

// maxBody bounds the request body read for validation. APISIX reads any
// size (client_max_body_size 0); a gateway holding the whole body in
// memory needs a bound.
const maxBody = 32 << 20

// validator is request-validation compiled: both schemas compiled once,
// checked in the rewrite phase.
type validator struct {
	header, body *schema.Schema
	bodyDefaults any // the body schema document, for default injection
	// headerNames maps lowercased names the header schema mentions to
	// its spelling, so "Content-Type" in the schema finds the header as
	// nginx's case-insensitive header table would.
	headerNames map[string]string
	status      int
	msg         []byte // rejected_msg; nil: the validation error
}

var _ plugin.Rewriter = (*validator)(nil)

func newValidator(conf map[string]any) (any, error) {
	v := &validator{status: 400}
	if n, ok := confcheck.Number(conf["rejected_code"]); ok {
		v.status = int(n)
	}
	if m, ok := confcheck.String(conf, "rejected_msg"); ok {
		v.msg = []byte(m)
	}
	compile := func(field string) (*schema.Schema, error) {
		doc, ok := conf[field]
		if !ok {
			return nil, nil
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		s, err := schema.Compile(field, raw)
		if err != nil {
			return nil, fmt.Errorf("%s is not a valid JSON Schema: %s", field, reason(err))
		}
		return s, nil
	}
	var err error
	if v.header, err = compile("header_schema"); err != nil {
		return nil, err
	}
	if v.body, err = compile("body_schema"); err != nil {
		return nil, err
	}
	v.bodyDefaults = conf["body_schema"]
	if hs, ok := conf["header_schema"].(map[string]any); ok {
		v.headerNames = map[string]string{}
		if props, ok := hs["properties"].(map[string]any); ok {
			for name := range props {
				v.headerNames[strings.ToLower(name)] = name
			}
		}
		if req, ok := hs["required"].([]any); ok {
			for _, x := range req {
				if name, ok := x.(string); ok {
					v.headerNames[strings.ToLower(name)] = name
				}
			}
		}
	}
	return v, nil
}

// reject ends the request with rejected_code and rejected_msg, or detail
// when no message is configured (nginx's page when there is no detail).
func (v *validator) reject(c *plugin.Ctx, detail string) {
	switch {
	case v.msg != nil:
		c.Exit(v.status, v.msg)
	case detail != "":
		c.Exit(v.status, []byte(detail))
	default:
		c.Exit(v.status, nil)
	}
}

// headerDoc is the request headers as ngx.req.get_headers() gives them
// to the validator: lowercase names, one string or a list of strings.
func (v *validator) headerDoc(c *plugin.Ctx) map[string]any {
	r := c.Req
	doc := make(map[string]any, len(r.Header)+1)
	put := func(name string, vals []string) {
		key := strings.ToLower(name)
		if alias, ok := v.headerNames[key]; ok {
			key = alias
		}
		if len(vals) == 1 {
			doc[key] = vals[0]
			return
		}
		list := make([]any, len(vals))
		for i, s := range vals {
			list[i] = s
		}
		doc[key] = list
	}
	if r.Host != "" {
		put("host", []string{r.Host})
	}
	for name, vals := range r.Header {
		if len(vals) > 0 {
			put(name, vals)
		}
	}
	return doc
}

func (v *validator) Rewrite(c *plugin.Ctx) {
	if v.header != nil {
		if err := v.header.Validate(v.headerDoc(c)); err != nil {
			v.reject(c, err.Error())
			return
		}
	}
	if v.body == nil {
		return
	}
	r := c.Req
	cts := r.Header.Values("Content-Type")
	if len(cts) > 1 {
		v.reject(c, "duplicated Content-Type header")
		return
	}
	body, err := readBody(c)
	if err != nil {
		v.reject(c, err.Error())
		return
	}
	if len(body) == 0 {
		v.reject(c, "")
		return
	}
	form := false
	if len(cts) == 1 {
		if mt, _, err := mime.ParseMediaType(cts[0]); err == nil && mt == "application/x-www-form-urlencoded" {
			form = true
		}
	}
	if form {
		if err := v.body.Validate(decodeArgs(string(body))); err != nil {
			v.reject(c, err.Error())
		}
		return
	}
	doc, err := schema.Decode(body)
	if err != nil {
		v.reject(c, cjsonError(body, err))
		return
	}
	doc = schema.WithDefaults(v.bodyDefaults, doc)
	if err := v.body.Validate(doc); err != nil {
		v.reject(c, err.Error())
		return
	}
	// Send upstream the JSON that was checked (with the schema's defaults
	// filled in, as lua-resty-jsonschema fills them), not the bytes the
	// client sent: parsers that disagree on duplicate keys or odd
	// encodings cannot be played against each other.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		v.reject(c, err.Error())
		return
	}
	setBody(c, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

var errTooLarge = errors.New("request body too large")

// readBody reads the whole request body and puts it back for the
// upstream.
func readBody(c *plugin.Ctx) ([]byte, error) {
	r := c.Req
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read request body: %w", err)
	}
	if len(b) > maxBody {
		return nil, errTooLarge
	}
	setBody(c, b)
	return b, nil
}

func setBody(c *plugin.Ctx, b []byte) {
	r := c.Req
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.TransferEncoding = nil
	r.Header.Del("Transfer-Encoding")
	if r.Header.Get("Content-Length") != "" || len(b) > 0 {
		r.Header.Set("Content-Length", fmt.Sprint(len(b)))
	}
}

// decodeArgs is ngx.decode_args: each key maps to its value, a list of
// values when repeated, and true when it has no "=".
func decodeArgs(s string) map[string]any {
	out := map[string]any{}
	for _, pair := range strings.Split(s, "&") {
		if pair == "" {
			continue
		}
		k, val, hasEq := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			key = k
		}
		var v any = true
		if hasEq {
			dv, err := url.QueryUnescape(val)
			if err != nil {
				dv = val
			}
			v = dv
		}
		switch prev := out[key].(type) {
		case nil:
			out[key] = v
		case []any:
			out[key] = append(prev, v)
		default:
			out[key] = []any{prev, v}
		}
	}
	return out
}

// cjsonError words a JSON syntax error as lua-cjson does.
func cjsonError(body []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("Expected value but found invalid token at character %d", se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end") {
		return fmt.Sprintf("Expected value but found T_END at character %d", len(body)+1)
	}
	return err.Error()
}
