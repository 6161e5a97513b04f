package httplogger

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// item is one queued log entry: a full entry (APISIX's default format,
// encoded in the background) or a custom one (log_format, resolved in the
// log phase).
type item struct {
	full   *fullEntry
	custom map[string]any
	size   int64 // approximate memory, for the buffer's byte bound
}

// fullEntry is what APISIX's log-util get_full_log reads, captured in the
// log phase.
type fullEntry struct {
	method, requestURI, proto, rawQuery, host string
	varHost, scheme, clientIP                 string
	localAddr                                 net.Addr
	reqHeader                                 http.Header
	transferEncoding                          []string
	contentLength                             int64
	reqBody                                   []byte
	hasReqBody                                bool

	status      int
	respHeader  http.Header
	bytesSent   int64
	respBody    []byte
	hasRespBody bool

	upstream, routeID, serviceID string
	consumer                     *plugin.Consumer
	start                        time.Time
	latency                      time.Duration
}

// The JSON shape of APISIX's full log entry.
type (
	fullJSON struct {
		Request         requestJSON   `json:"request"`
		Response        responseJSON  `json:"response"`
		Server          serverJSON    `json:"server"`
		Upstream        string        `json:"upstream,omitempty"`
		ServiceID       string        `json:"service_id,omitempty"`
		RouteID         string        `json:"route_id"`
		Consumer        *consumerJSON `json:"consumer,omitempty"`
		ClientIP        string        `json:"client_ip"`
		StartTime       int64         `json:"start_time"`
		Latency         float64       `json:"latency"`
		UpstreamLatency *float64      `json:"upstream_latency,omitempty"`
		ApisixLatency   *float64      `json:"apisix_latency,omitempty"`
	}
	requestJSON struct {
		URL         string      `json:"url"`
		URI         string      `json:"uri"`
		Method      string      `json:"method"`
		Headers     reqHeaders  `json:"headers"`
		Querystring queryJSON   `json:"querystring"`
		Size        int64       `json:"size"`
		Body        *bodyString `json:"body,omitempty"`
	}
	responseJSON struct {
		Status  int         `json:"status"`
		Headers headerJSON  `json:"headers"`
		Size    int64       `json:"size"`
		Body    *bodyString `json:"body,omitempty"`
	}
	serverJSON struct {
		Hostname string `json:"hostname"`
		Version  string `json:"version,omitempty"`
	}
	consumerJSON struct {
		Username string `json:"username"`
		GroupID  string `json:"group_id,omitempty"`
	}
)

func (e *fullEntry) json() fullJSON {
	port := ""
	if e.localAddr != nil {
		_, port, _ = net.SplitHostPort(e.localAddr.String())
	}
	r := &http.Request{Method: e.method, RequestURI: e.requestURI, Proto: e.proto, Host: e.host,
		Header: e.reqHeader, TransferEncoding: e.transferEncoding, ContentLength: e.contentLength}
	j := fullJSON{
		Request: requestJSON{
			URL: e.scheme + "://" + e.varHost + ":" + port + e.requestURI, URI: e.requestURI, Method: e.method,
			Headers: reqHeaders{e.reqHeader, e.host, e.transferEncoding}, Querystring: queryJSON(e.rawQuery), Size: requestLength(r),
		},
		Response:  responseJSON{Status: e.status, Headers: headerJSON(e.respHeader), Size: e.bytesSent},
		Server:    serverJSON{Hostname: hostname, Version: currentVersion()},
		Upstream:  e.upstream,
		ServiceID: e.serviceID,
		RouteID:   e.routeID,
		ClientIP:  e.clientIP,
		StartTime: e.start.UnixMilli(),
		Latency:   ms(e.latency),
	}
	if j.RouteID == "" {
		j.RouteID = "no-matched"
	}
	if e.consumer != nil {
		j.Consumer = &consumerJSON{Username: e.consumer.Username, GroupID: e.consumer.GroupID}
	}
	if e.upstream == "" {
		// No upstream: all of the latency is the gateway's (APISIX).
		l := j.Latency
		j.ApisixLatency = &l
	}
	if e.hasReqBody {
		b := bodyString(e.reqBody)
		j.Request.Body = &b
	}
	if e.hasRespBody {
		b := bodyString(decodeBody(e.respHeader.Get("Content-Encoding"), e.respBody))
		j.Response.Body = &b
	}
	return j
}

// decodeBody undoes a gzip or deflate Content-Encoding for the log, as
// APISIX does; anything else, or a body that does not decode (it may be
// cut at 512 KiB), is logged as it was sent.
func decodeBody(enc string, b []byte) []byte {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return b
		}
		r = zr
	case "deflate":
		r = flate.NewReader(bytes.NewReader(b))
	default:
		return b
	}
	out, err := io.ReadAll(io.LimitReader(r, maxBodyBytes))
	if err != nil {
		return b
	}
	return out
}

// headerJSON encodes headers as ngx.req.get_headers() returns them:
// lowercase names, a string for one value, an array for several.
type headerJSON http.Header

func (h headerJSON) MarshalJSON() ([]byte, error) { return json.Marshal(h.table()) }

func (h headerJSON) table() map[string]any {
	m := make(map[string]any, len(h)+2)
	for k, vs := range h {
		k = strings.ToLower(k)
		switch len(vs) {
		case 0:
		case 1:
			m[k] = vs[0]
		default:
			m[k] = vs
		}
	}
	return m
}

// reqHeaders are the request's headers as the client sent them: Go keeps
// Host and Transfer-Encoding out of the header map.
type reqHeaders struct {
	h    http.Header
	host string
	te   []string
}

func (r reqHeaders) MarshalJSON() ([]byte, error) {
	m := headerJSON(r.h).table()
	if r.host != "" {
		m["host"] = r.host
	}
	if len(r.te) > 0 {
		m["transfer-encoding"] = strings.Join(r.te, ", ")
	}
	return json.Marshal(m)
}

// queryJSON encodes a query string as ngx.req.get_uri_args() returns it: a
// string per argument, an array when repeated, true for a bare name.
type queryJSON string

func (q queryJSON) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for _, part := range strings.Split(string(q), "&") {
		if part == "" {
			continue
		}
		var val any = true
		name := part
		if k, v, ok := strings.Cut(part, "="); ok {
			name = k
			if u, err := url.QueryUnescape(v); err == nil {
				v = u
			}
			val = v
		}
		if u, err := url.QueryUnescape(name); err == nil {
			name = u
		}
		if name == "" {
			continue
		}
		switch prev := m[name].(type) {
		case nil:
			m[name] = val
		case []any:
			m[name] = append(prev, val)
		default:
			m[name] = []any{prev, val}
		}
	}
	return json.Marshal(m)
}

// bodyString is a body logged as a JSON string.
type bodyString []byte

func (b bodyString) MarshalJSON() ([]byte, error) { return json.Marshal(string(b)) }

func (it item) encode() ([]byte, error) {
	if it.custom != nil {
		return json.Marshal(it.custom)
	}
	return json.Marshal(it.full.json())
}

// encodeBatch builds the request body as APISIX's http-logger does: with
// batch_max_size 1 the entry itself; otherwise a JSON array (json) or one
// JSON document per line (new_line).
func encodeBatch(cfg *config, items []item) ([]byte, error) {
	if cfg.batchMaxSize == 1 && len(items) == 1 {
		return items[0].encode()
	}
	var buf bytes.Buffer
	if !cfg.newLine {
		buf.WriteByte('[')
	}
	for i, it := range items {
		b, err := it.encode()
		if err != nil {
			return nil, err
		}
		if i > 0 {
			if cfg.newLine {
				buf.WriteByte('\n')
			} else {
				buf.WriteByte(',')
			}
		}
		buf.Write(b)
	}
	if !cfg.newLine {
		buf.WriteByte(']')
	}
	return buf.Bytes(), nil
}
