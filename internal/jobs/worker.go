package jobs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/stargate-edge/stargate/internal/cache"
	"github.com/stargate-edge/stargate/internal/store"
)

// maxAttempts bounds how often a node restarts a job that its crashes
// interrupted; then the job fails rather than hanging.
const maxAttempts = 3

// progressEvery throttles progress writes to the store.
const progressEvery = time.Second

// Options configures a Worker.
type Options struct {
	Store store.Store
	// Node identifies this edge in a job's per-node status (default: the
	// host name).
	Node string
	// Nodes lists the edges a job must complete on (default: this one);
	// the node registry will supply it once there are several edges.
	Nodes func() []string
	// Zone finds a local cache zone (default cache.Lookup).
	Zone func(name string) (*cache.Zone, bool)
	// Warm fetches one URL through this edge (LocalWarmer); nil fails
	// warm jobs.
	Warm   func(ctx context.Context, url string) URLResult
	Logger *slog.Logger
	// Concurrency bounds the jobs run at once (default 2) and WarmConcurrency
	// the URLs one warm job fetches at once (default 4).
	Concurrency     int
	WarmConcurrency int
}

// Worker runs the jobs of the store on this edge: it watches Prefix,
// claims each job's share for its node, runs it against the local zones,
// and records progress and the outcome. A job this node left running (a
// crash) is resumed when the worker starts.
type Worker struct {
	opts   Options
	log    *slog.Logger
	mu     sync.Mutex
	active map[string]bool
	sem    chan struct{}
	wg     sync.WaitGroup
}

// New builds a Worker; Run starts it.
func New(opts Options) *Worker {
	if opts.Node == "" {
		opts.Node, _ = os.Hostname()
		if opts.Node == "" {
			opts.Node = "edge"
		}
	}
	if opts.Nodes == nil {
		node := opts.Node
		opts.Nodes = func() []string { return []string{node} }
	}
	if opts.Zone == nil {
		opts.Zone = cache.Lookup
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	if opts.WarmConcurrency <= 0 {
		opts.WarmConcurrency = 4
	}
	return &Worker{opts: opts, log: opts.Logger.With("node", opts.Node), active: map[string]bool{}, sem: make(chan struct{}, opts.Concurrency)}
}

// Node is the id this worker records its status under.
func (w *Worker) Node() string { return w.opts.Node }

// Run follows the store until ctx ends, then waits for the jobs it runs.
func (w *Worker) Run(ctx context.Context) {
	defer w.wg.Wait()
	st := w.opts.Store
	for ctx.Err() == nil {
		kvs, rev, err := st.List(ctx, Prefix)
		if err != nil {
			w.log.Warn("jobs: list", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for _, kv := range kvs {
			w.consider(ctx, kv)
		}
		for resp := range st.Watch(ctx, Prefix, rev) {
			if resp.Err != nil {
				if !errors.Is(resp.Err, store.ErrCompacted) && ctx.Err() == nil {
					w.log.Warn("jobs: watch", "err", resp.Err)
				}
				break
			}
			for _, ev := range resp.Events {
				if ev.Type == store.EventPut {
					w.consider(ctx, ev.KV)
				}
			}
		}
	}
}

func finished(s string) bool { return s == StatusCompleted || s == StatusFailed }

// consider starts this node's share of a job unless it is done or
// already running here.
func (w *Worker) consider(ctx context.Context, kv store.KV) {
	j, err := decode(kv)
	if err != nil || finished(j.Status) && j.Nodes[w.opts.Node] != nil {
		return
	}
	if ns := j.Nodes[w.opts.Node]; ns != nil && finished(ns.Status) {
		return
	}
	if finished(j.Status) && len(j.Nodes) > 0 {
		return
	}
	w.mu.Lock()
	if w.active[j.ID] {
		w.mu.Unlock()
		return
	}
	w.active[j.ID] = true
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() {
			w.mu.Lock()
			delete(w.active, j.ID)
			w.mu.Unlock()
		}()
		select {
		case w.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-w.sem }()
		w.run(ctx, j.ID)
	}()
}

var errSkip = errors.New("jobs: nothing to do")

// run claims and runs this node's share of a job.
func (w *Worker) run(ctx context.Context, id string) {
	node := w.opts.Node
	j, err := Update(ctx, w.opts.Store, id, func(j *Job) error {
		ns := j.Nodes[node]
		if ns != nil && finished(ns.Status) {
			return errSkip
		}
		if ns == nil {
			ns = &NodeStatus{}
			j.Nodes[node] = ns
		}
		ns.Attempts++
		ns.Status, ns.StartedAt, ns.UpdatedAt = StatusRunning, Now(), Now()
		ns.Progress, ns.Results, ns.Error = Progress{}, nil, ""
		if ns.Attempts > maxAttempts {
			ns.Status = StatusFailed
			ns.Error = fmt.Sprintf("gave up after %d interrupted attempts", maxAttempts)
		}
		j.aggregate(w.opts.Nodes())
		return nil
	})
	if err != nil {
		if !errors.Is(err, errSkip) && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			w.log.Warn("jobs: claim", "job", id, "err", err)
		}
		return
	}
	if ns := j.Nodes[node]; ns.Status != StatusRunning {
		return
	}
	if ns := j.Nodes[node]; ns.Attempts > 1 {
		w.log.Info("jobs: resuming an interrupted job", "job", id, "attempt", ns.Attempts)
	}
	t0 := time.Now()
	var res NodeStatus
	switch j.Type {
	case TypePurge:
		res = w.purge(ctx, j)
	case TypeWarm:
		res = w.warm(ctx, j)
	default:
		res = NodeStatus{Status: StatusFailed, Error: "unknown job type " + j.Type}
	}
	if ctx.Err() != nil {
		return // shutting down: the job stays running here and resumes at the next start
	}
	_, err = Update(ctx, w.opts.Store, id, func(j *Job) error {
		ns := j.Nodes[node]
		if ns == nil {
			ns = &NodeStatus{}
			j.Nodes[node] = ns
		}
		ns.Status, ns.Progress, ns.Results, ns.Error, ns.UpdatedAt = res.Status, res.Progress, res.Results, res.Error, Now()
		j.aggregate(w.opts.Nodes())
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		w.log.Warn("jobs: record outcome", "job", id, "err", err)
		return
	}
	w.log.Info("jobs: done", "job", id, "type", j.Type, "status", res.Status, "total", res.Progress.Total,
		"done", res.Progress.Done, "failed", res.Progress.Failed, "took", time.Since(t0).Round(time.Millisecond))
}

// progress records a running node's progress, at most once per
// progressEvery.
type progress struct {
	w    *Worker
	ctx  context.Context
	id   string
	last time.Time
}

func (p *progress) report(pr Progress, results []URLResult, force bool) {
	if !force && time.Since(p.last) < progressEvery {
		return
	}
	p.last = time.Now()
	node := p.w.opts.Node
	_, _ = Update(p.ctx, p.w.opts.Store, p.id, func(j *Job) error {
		ns := j.Nodes[node]
		if ns == nil || ns.Status != StatusRunning {
			return errSkip
		}
		ns.Progress, ns.UpdatedAt = pr, Now()
		ns.Results = append([]URLResult(nil), results...)
		j.aggregate(p.w.opts.Nodes())
		return nil
	})
}

func (w *Worker) purge(ctx context.Context, j *Job) NodeStatus {
	z, ok := w.opts.Zone(j.Request.Zone)
	if !ok {
		return NodeStatus{Status: StatusFailed, Error: fmt.Sprintf("cache zone %s not found on this edge", j.Request.Zone)}
	}
	match, err := Matcher(j.Request)
	if err != nil {
		return NodeStatus{Status: StatusFailed, Error: err.Error()}
	}
	p := &progress{w: w, ctx: ctx, id: j.ID, last: time.Now()}
	n := z.Purge(match, func(scanned, removed int) {
		p.report(Progress{Total: removed, Done: removed}, nil, false)
	})
	total := n
	if len(j.Request.URLs) > 0 {
		total = len(j.Request.URLs)
	}
	return NodeStatus{Status: StatusCompleted, Progress: Progress{Total: total, Done: total}}
}

func (w *Worker) warm(ctx context.Context, j *Job) NodeStatus {
	if w.opts.Warm == nil {
		return NodeStatus{Status: StatusFailed, Error: "this edge cannot warm (no proxy listener)"}
	}
	urls := j.Request.URLs
	results := make([]URLResult, len(urls))
	var mu sync.Mutex
	pr := Progress{Total: len(urls)}
	p := &progress{w: w, ctx: ctx, id: j.ID, last: time.Now()}
	next := make(chan int)
	var wg sync.WaitGroup
	for k := 0; k < w.opts.WarmConcurrency; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := w.opts.Warm(ctx, urls[i])
				mu.Lock()
				results[i] = r
				if r.OK {
					pr.Done++
				} else {
					pr.Failed++
				}
				snap := pr
				var done []URLResult
				if time.Since(p.last) >= progressEvery {
					for _, x := range results {
						if x.URL != "" {
							done = append(done, x)
						}
					}
				}
				mu.Unlock()
				if done != nil {
					p.report(snap, done, false)
				}
			}
		}()
	}
	for i := range urls {
		select {
		case next <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	return NodeStatus{Status: StatusCompleted, Progress: pr, Results: results}
}

// LocalWarmer returns a Warm function that requests each URL from this
// edge's own proxy listeners (the route that matches decides the zone and
// the key): https URLs go to the TLS listener with the URL's host as SNI
// (falling back to the plain one), the rest to the plain listener. A URL
// is warmed when the edge answers below 400 with a cache status other
// than BYPASS.
func LocalWarmer(httpAddr, httpsAddr string) func(ctx context.Context, url string) URLResult {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, httpAddr)
		},
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			c, err := dialer.DialContext(ctx, network, httpsAddr)
			if err != nil {
				return nil, err
			}
			// The edge is talking to itself: its certificate for the
			// name is not what is being checked.
			tc := tls.Client(c, &tls.Config{ServerName: host, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return tc, nil
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(ctx context.Context, u string, hdr ...string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", "stargate-warmer")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return client.Do(req)
	}
	return func(ctx context.Context, raw string) URLResult {
		out := URLResult{URL: raw}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			out.Error = "not an absolute http(s) URL"
			return out
		}
		if u.Scheme == "https" && httpsAddr == "" {
			u.Scheme = "http"
		}
		resp, err := get(ctx, u.String())
		if err != nil && u.Scheme == "https" {
			u.Scheme = "http" // no certificate for the name: try the plain listener
			resp, err = get(ctx, u.String())
		}
		if err != nil {
			out.Error = err.Error()
			return out
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out.Status = resp.StatusCode
		out.Cache = resp.Header.Get("Apisix-Cache-Status")
		switch {
		case err != nil:
			out.Error = "reading the answer: " + err.Error()
		case out.Cache == "":
			if resp.StatusCode == http.StatusNotFound {
				out.Error = "no cached route matches"
			} else {
				out.Error = "the route does not cache"
			}
		case out.Cache == "BYPASS":
			out.Error = "the cache was bypassed"
		case resp.StatusCode >= 400:
			out.Error = fmt.Sprintf("the origin answered %d", resp.StatusCode)
		case out.Cache == "HIT":
			out.OK = true
		default:
			// Fetched now: check that it was stored (one byte of it).
			vr, err := get(ctx, u.String(), "Range", "bytes=0-0")
			if err != nil {
				out.Error = err.Error()
				break
			}
			_, _ = io.Copy(io.Discard, vr.Body)
			vr.Body.Close()
			if c := vr.Header.Get("Apisix-Cache-Status"); c != "HIT" {
				out.Error = "the response was not stored (not cacheable)"
				break
			}
			out.OK = true
		}
		return out
	}
}
