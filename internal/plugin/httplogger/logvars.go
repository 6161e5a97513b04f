package httplogger

import (
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
)

var (
	hostname = func() string { h, _ := os.Hostname(); return h }()
	version  atomic.Pointer[string]
)

// SetVersion sets server.version in the full log entry (Stargate's
// version; left out until set).
func SetVersion(v string) { version.Store(&v) }

func currentVersion() string {
	if p := version.Load(); p != nil {
		return *p
	}
	return ""
}

// logVars resolves variables in the log phase: the request's own vars plus
// what is known once the response is sent (nginx's $status, $bytes_sent,
// $upstream_addr, times, response headers, ...).
type logVars struct {
	c      *plugin.Ctx
	status int // the status for the body filter phase; 0: c.Status
	now    time.Time

	reqBody, respBody       []byte
	hasReqBody, hasRespBody bool
}

var _ plugin.Vars = (*logVars)(nil)

func (v *logVars) statusCode() int {
	if v.status != 0 {
		return v.status
	}
	return v.c.Status
}

func (v *logVars) localAddr() (string, string) {
	if v.c.Req == nil {
		return "", ""
	}
	la, ok := v.c.Req.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return "", ""
	}
	h, p, _ := net.SplitHostPort(la.String())
	return h, p
}

// Var returns a variable as nginx would (a string); it is what vars
// expressions (include_*_body_expr) and log_format read.
func (v *logVars) Var(name string) (string, bool) {
	c := v.c
	switch name {
	case "status":
		if s := v.statusCode(); s != 0 {
			return strconv.Itoa(s), true
		}
		return "", false
	case "bytes_sent", "body_bytes_sent":
		return strconv.FormatInt(c.BytesSent, 10), true
	case "request_length":
		if c.Req == nil {
			return "", false
		}
		return strconv.FormatInt(requestLength(c.Req), 10), true
	case "upstream_addr":
		return c.UpstreamAddr, c.UpstreamAddr != ""
	case "request_time":
		return strconv.FormatFloat(c.Latency.Seconds(), 'f', 3, 64), true
	case "msec":
		return strconv.FormatFloat(float64(v.now.UnixMilli())/1000, 'f', 3, 64), true
	case "time_iso8601":
		return v.now.Format("2006-01-02T15:04:05-07:00"), true
	case "time_local":
		return v.now.Format("02/Jan/2006:15:04:05 -0700"), true
	case "route_id":
		return c.RouteID, c.RouteID != ""
	case "service_id":
		return c.ServiceID, c.ServiceID != ""
	case "consumer_name":
		if c.Consumer != nil {
			return c.Consumer.Username, true
		}
		return "", false
	case "server_addr":
		h, _ := v.localAddr()
		return h, h != ""
	case "server_port":
		_, p := v.localAddr()
		return p, p != ""
	}
	if c.Req != nil {
		switch name {
		case "request":
			return c.Req.Method + " " + c.Req.RequestURI + " " + c.Req.Proto, true
		case "server_protocol":
			return c.Req.Proto, true
		case "remote_port":
			_, p, err := net.SplitHostPort(c.Req.RemoteAddr)
			return p, err == nil
		}
	}
	if h, ok := strings.CutPrefix(name, "sent_http_"); ok {
		vals := c.RespHeader.Values(strings.ReplaceAll(h, "_", "-"))
		if len(vals) == 0 {
			return "", false
		}
		return strings.Join(vals, ", "), true
	}
	if c.Vars == nil {
		return "", false
	}
	return c.Vars.Var(name)
}

// value resolves a log_format variable: APISIX's log-util log_vars first
// (typed values: numbers, header tables), then nginx/APISIX variables.
func (v *logVars) value(name string) (any, bool) {
	c := v.c
	switch name {
	case "latency":
		return ms(c.Latency), true
	case "upstream_latency":
		// Not measured yet (no upstream response time in the context).
		return nil, false
	case "apisix_latency":
		if c.UpstreamAddr == "" {
			return ms(c.Latency), true
		}
		return nil, false
	case "client_ip":
		return v.Var("remote_addr")
	case "start_time":
		return c.Start.UnixMilli(), true
	case "hostname":
		return hostname, true
	case "version":
		return currentVersion(), true
	case "request_method":
		if c.Req == nil {
			return nil, false
		}
		return c.Req.Method, true
	case "request_headers":
		if c.Req == nil {
			return nil, false
		}
		return reqHeaders{c.Req.Header, c.Req.Host, c.Req.TransferEncoding}, true
	case "request_querystring":
		if c.Req == nil {
			return nil, false
		}
		return queryJSON(c.Req.URL.RawQuery), true
	case "request_body":
		if !v.hasReqBody {
			return nil, false
		}
		return bodyString(v.reqBody), true
	case "response_status":
		return v.statusCode(), true
	case "response_headers":
		return headerJSON(c.RespHeader), true
	case "response_size":
		return c.BytesSent, true
	case "response_body":
		if !v.hasRespBody {
			return nil, false
		}
		return bodyString(v.respBody), true
	case "upstream":
		return c.UpstreamAddr, c.UpstreamAddr != ""
	case "url":
		if c.Req == nil {
			return nil, false
		}
		scheme, _ := v.Var("scheme")
		host, _ := v.Var("host")
		port, _ := v.Var("server_port")
		return scheme + "://" + host + ":" + port + c.Req.RequestURI, true
	case "consumer_username":
		if c.Consumer != nil {
			return c.Consumer.Username, true
		}
		return nil, false
	case "service_id":
		return c.ServiceID, c.ServiceID != ""
	case "route_id":
		return c.RouteID, c.RouteID != ""
	}
	s, ok := v.Var(name)
	if !ok {
		return nil, false
	}
	return s, true
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// requestLength rebuilds nginx's $request_length for an HTTP/1.x request:
// request line, header lines (Go keeps Host apart) and the declared body.
func requestLength(r *http.Request) int64 {
	n := int64(len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2)
	if r.Host != "" {
		n += int64(len("Host: ") + len(r.Host) + 2)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += int64(len(k) + 2 + len(v) + 2)
		}
	}
	for _, te := range r.TransferEncoding {
		n += int64(len("Transfer-Encoding: ") + len(te) + 2)
	}
	n += 2
	if r.ContentLength > 0 {
		n += r.ContentLength
	}
	return n
}
