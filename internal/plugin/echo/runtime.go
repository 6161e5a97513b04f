package echo

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// echo is the echo plugin compiled: it sets response headers and wraps
// (or replaces) the response body, as APISIX's echo.lua does in its
// header and body filters.
type echo struct {
	before, body, after []byte
	hasBody             bool // conf.body set: the upstream's body is dropped
	modifies            bool // any body option: length and validators go
	headers             [][2]string
}

var (
	_ plugin.HeaderFilterer = (*echo)(nil)
	_ plugin.BodyFilterer   = (*echo)(nil)
)

func newEcho(conf map[string]any) (any, error) {
	e := &echo{}
	if s, ok := conf["before_body"].(string); ok {
		e.before, e.modifies = []byte(s), true
	}
	if s, ok := conf["body"].(string); ok {
		e.body, e.hasBody, e.modifies = []byte(s), true, true
	}
	if s, ok := conf["after_body"].(string); ok {
		e.after, e.modifies = []byte(s), true
	}
	if h, ok := conf["headers"].(map[string]any); ok {
		for k, v := range h {
			e.headers = append(e.headers, [2]string{http.CanonicalHeaderKey(k), luaString(v)})
		}
	}
	return e, nil
}

// luaString is tostring() of a decoded JSON value.
func luaString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// HeaderFilter implements plugin.HeaderFilterer: a changed body loses its
// length and validators (core.response.clear_header_as_body_modified),
// then the configured headers are set.
func (e *echo) HeaderFilter(_ *plugin.Ctx, _ int, h http.Header) {
	if e.modifies {
		h.Del("Content-Length")
		h.Del("Etag")
		h.Del("Last-Modified")
	}
	for _, kv := range e.headers {
		h[kv[0]] = []string{kv[1]}
	}
}

// WrapBody implements plugin.BodyFilterer.
func (e *echo) WrapBody(_ *plugin.Ctx, _ int, _ http.Header, w io.Writer) io.WriteCloser {
	if !e.modifies {
		return nil
	}
	return &writer{e: e, w: w}
}

type writer struct {
	e       *echo
	w       io.Writer
	started bool
}

func (b *writer) start() error {
	if b.started {
		return nil
	}
	b.started = true
	if len(b.e.before) > 0 {
		_, err := b.w.Write(b.e.before)
		return err
	}
	return nil
}

func (b *writer) Write(p []byte) (int, error) {
	if b.e.hasBody {
		return len(p), nil // replaced by conf.body
	}
	if err := b.start(); err != nil {
		return 0, err
	}
	return b.w.Write(p)
}

// Flush implements plugin.Flusher.
func (b *writer) Flush() error {
	if f, ok := b.w.(plugin.Flusher); ok {
		return f.Flush()
	}
	return nil
}

// Close writes what goes at the end: before_body if nothing was written
// yet, the replacement body, after_body.
func (b *writer) Close() error {
	if err := b.start(); err != nil {
		return err
	}
	for _, p := range [][]byte{b.e.body, b.e.after} {
		if len(p) > 0 {
			if _, err := b.w.Write(p); err != nil {
				return err
			}
		}
	}
	return nil
}
