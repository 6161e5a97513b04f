package proxymirror

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// mirror is proxy-mirror compiled. The rewrite phase decides (by
// sample_ratio) whether the request is mirrored and where to, and tees
// the request body as the upstream reads it; the log phase, once the
// client has its answer, hands a copy of the request to a bounded worker
// pool. The mirror's answer is discarded; a full queue, a slow or failing
// mirror never delay or fail the request.
type mirror struct {
	host   string // scheme://host[:port]
	path   string
	prefix bool // path_concat_mode prefix
	ratio  float64
	grpc   bool // grpc(s) hosts are not mirrored (see README)
}

var (
	_ plugin.Rewriter  = (*mirror)(nil)
	_ plugin.LogPhaser = (*mirror)(nil)
)

func newMirror(conf map[string]any) (any, error) {
	m := &mirror{ratio: 1}
	m.host, _ = conf["host"].(string)
	m.path, _ = conf["path"].(string)
	m.prefix = conf["path_concat_mode"] == "prefix"
	if n, ok := conf["sample_ratio"].(json.Number); ok {
		f, err := n.Float64()
		if err != nil {
			return nil, err
		}
		m.ratio = f
	}
	m.grpc = strings.HasPrefix(m.host, "grpc")
	return m, nil
}

type stateKey struct{}

// state is one mirrored request.
type state struct {
	url  string
	body *tee
}

// maxMirrorBody bounds the request body kept for the mirror; a larger
// body is still proxied, but the request is not mirrored.
const maxMirrorBody = 1 << 20

// Rewrite implements plugin.Rewriter. It runs before proxy-rewrite, so the
// mirror gets the client's uri and args, as in APISIX.
func (m *mirror) Rewrite(c *plugin.Ctx) {
	if m.grpc || (m.ratio < 1 && rand.Float64() >= m.ratio) {
		return
	}
	r := c.Req
	uri := r.URL.RequestURI()
	if m.path != "" {
		if m.prefix {
			uri = m.path + uri
		} else if r.URL.RawQuery != "" {
			uri = m.path + "?" + r.URL.RawQuery
		} else {
			uri = m.path
		}
	}
	s := &state{url: m.host + uri}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		if r.ContentLength > maxMirrorBody {
			return
		}
		s.body = &tee{ReadCloser: r.Body}
		r.Body = s.body
	}
	c.SetValue(stateKey{}, s)
}

// Log implements plugin.LogPhaser: the request went upstream (no plugin
// ended it), so the mirror gets it too.
func (m *mirror) Log(c *plugin.Ctx) {
	s, _ := c.Value(stateKey{}).(*state)
	if s == nil {
		return
	}
	if exited, _, _ := c.Exited(); exited {
		return
	}
	var body []byte
	if s.body != nil {
		if s.body.over || !s.body.eof {
			// Too big, or the upstream did not read it all: the mirror
			// would get a truncated copy.
			return
		}
		body = s.body.buf.Bytes()
	}
	hdr := c.Req.Header.Clone()
	for _, h := range [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		delete(hdr, h)
	}
	submit(job{method: c.Req.Method, url: s.url, host: c.Req.Host, header: hdr, body: body})
}

// tee keeps a copy of what the upstream reads of the request body.
type tee struct {
	io.ReadCloser
	buf  bytes.Buffer
	over bool
	eof  bool
}

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if n > 0 && !t.over {
		if t.buf.Len()+n > maxMirrorBody {
			t.over = true
			t.buf = bytes.Buffer{}
		} else {
			t.buf.Write(p[:n])
		}
	}
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

// The worker pool: a fixed number of workers and a bounded queue; a job
// that finds the queue full is dropped.
const (
	workers  = 16
	queueLen = 1024
)

// Timeout bounds one mirror request (APISIX's proxy-mirror plugin_attr
// timeout defaults to 60s for connect, send and read each).
var Timeout = 60 * time.Second

type job struct {
	method, url, host string
	header            http.Header
	body              []byte
}

var (
	startOnce sync.Once
	queue     chan job
	client    *http.Client
)

func submit(j job) {
	startOnce.Do(start)
	select {
	case queue <- j:
	default: // the mirror is behind: drop rather than hold anything up
	}
}

func start() {
	queue = make(chan job, queueLen)
	client = &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: workers,
			IdleConnTimeout:     60 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for range workers {
		go func() {
			for j := range queue {
				send(j)
			}
		}()
	}
}

func send(j job) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var rd io.Reader
	if j.body != nil {
		rd = bytes.NewReader(j.body)
	}
	req, err := http.NewRequestWithContext(ctx, j.method, j.url, rd)
	if err != nil {
		return
	}
	req.Header = j.header
	req.Host = j.host
	res, err := client.Do(req)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
}
