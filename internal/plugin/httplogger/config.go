package httplogger

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/vars"
)

// maxBodyBytes bounds a logged request or response body (APISIX's
// MAX_REQ_BODY and MAX_RESP_BODY, 512 KiB).
const maxBodyBytes = 512 << 10

// config is the plugin's configuration decoded once, with APISIX's
// defaults filled in.
type config struct {
	uri             string
	authHeader      string
	timeout         time.Duration
	format          []field // nil: no log_format of its own
	hasFormat       bool
	includeReqBody  bool
	reqBodyExpr     *vars.Expr
	includeRespBody bool
	respBodyExpr    *vars.Expr
	newLine         bool // concat_method new_line
	sslVerify       bool
	name            string
	maxRetry        int
	retryDelay      time.Duration
	bufferDuration  time.Duration
	inactiveTimeout time.Duration
	batchMaxSize    int
}

// field is one log_format entry: a variable ("$host") or a literal.
type field struct {
	key     string
	isVar   bool
	name    string // variable name without '$'
	literal any
}

func compileFormat(m map[string]any) []field {
	out := make([]field, 0, len(m))
	for k, v := range m {
		f := field{key: k, literal: v}
		if s, ok := v.(string); ok && strings.HasPrefix(s, "$") {
			f.isVar, f.name, f.literal = true, s[1:], nil
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func intOf(conf map[string]any, key string, def int) int {
	switch n := conf[key].(type) {
	case json.Number:
		if v, err := n.Int64(); err == nil {
			return int(v)
		}
		if f, err := n.Float64(); err == nil {
			return int(f)
		}
	case float64:
		return int(n)
	case int:
		return n
	}
	return def
}

func decode(conf map[string]any) (*config, error) {
	c := &config{
		timeout:         3 * time.Second,
		name:            "http logger",
		retryDelay:      time.Second,
		bufferDuration:  60 * time.Second,
		inactiveTimeout: 5 * time.Second,
		batchMaxSize:    1000,
	}
	// A uri the client cannot use (a scheme other than http/https) fails
	// each send, as in APISIX, rather than keeping the route out.
	c.uri, _ = conf["uri"].(string)
	var err error
	c.authHeader, _ = conf["auth_header"].(string)
	c.timeout = time.Duration(intOf(conf, "timeout", 3)) * time.Second
	if f, ok := conf["log_format"].(map[string]any); ok {
		c.format, c.hasFormat = compileFormat(f), true
	}
	c.includeReqBody, _ = conf["include_req_body"].(bool)
	c.includeRespBody, _ = conf["include_resp_body"].(bool)
	if e, ok := conf["include_req_body_expr"]; ok && e != nil {
		if c.reqBodyExpr, err = vars.Compile(e); err != nil {
			return nil, exprError("include_req_body_expr", err)
		}
	}
	if e, ok := conf["include_resp_body_expr"]; ok && e != nil {
		if c.respBodyExpr, err = vars.Compile(e); err != nil {
			return nil, exprError("include_resp_body_expr", err)
		}
	}
	c.newLine = conf["concat_method"] == "new_line"
	c.sslVerify, _ = conf["ssl_verify"].(bool)
	if n, ok := conf["name"].(string); ok {
		c.name = n
	}
	c.maxRetry = intOf(conf, "max_retry_count", 0)
	c.retryDelay = time.Duration(intOf(conf, "retry_delay", 1)) * time.Second
	c.bufferDuration = time.Duration(intOf(conf, "buffer_duration", 60)) * time.Second
	c.inactiveTimeout = time.Duration(intOf(conf, "inactive_timeout", 5)) * time.Second
	c.batchMaxSize = max(1, intOf(conf, "batch_max_size", 1000))
	return c, nil
}

// exprError words an expression error as APISIX's check_log_schema does.
func exprError(name string, err error) error {
	reason := strings.TrimPrefix(err.Error(), "failed to validate the 'vars' expression: ")
	return fmt.Errorf("failed to validate the '%s' expression: %s", name, reason)
}

// check is the plugin's cross-field check (log-util check_log_schema).
func check(conf map[string]any) error {
	for _, k := range []string{"include_req_body_expr", "include_resp_body_expr"} {
		if e, ok := conf[k]; ok && e != nil {
			if _, err := vars.Compile(e); err != nil {
				return exprError(k, err)
			}
		}
	}
	return nil
}

// canonical is the identity of a logger's configuration: its processor
// (buffer, goroutine) is shared by every compile of the same object with
// the same configuration.
func canonical(conf map[string]any) string {
	c := make(map[string]any, len(conf))
	for k, v := range conf {
		if k != "_meta" {
			c[k] = v
		}
	}
	b, _ := json.Marshal(c) // map keys sorted: deterministic
	return string(b)
}

// metadata is plugin_metadata/http-logger as SetMetadata installed it.
type metadata struct {
	format     []field // nil: full log
	maxPending int     // 0: default
}

var meta atomic.Pointer[metadata]

// defaultMetadataFormat is the metadata schema's log_format default, which
// APISIX stores with metadata that does not set one.
var defaultMetadataFormat = map[string]any{"host": "$host", "@timestamp": "$time_iso8601", "client_ip": "$remote_addr"}

// SetMetadata installs plugin_metadata/http-logger (already validated
// against the metadata schema), or removes it when conf is nil: its
// log_format applies to every http-logger without a log_format of its own,
// and max_pending_entries bounds each logger's buffer.
func SetMetadata(conf map[string]any) {
	if conf == nil {
		meta.Store(nil)
		return
	}
	m := &metadata{maxPending: intOf(conf, "max_pending_entries", 0)}
	f, ok := conf["log_format"].(map[string]any)
	if !ok {
		f = defaultMetadataFormat
	}
	if len(f) > 0 {
		m.format = compileFormat(f)
	}
	meta.Store(m)
}
