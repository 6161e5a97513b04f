package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

// loadResult is one bounded load loop.
type loadResult struct {
	clients int
	acked   int           // 200/201 answers
	elapsed time.Duration // from the start to the last answer
	lat     []time.Duration
	cpu     cpuSample
}

func (l loadResult) rate() float64 {
	if l.elapsed <= 0 {
		return 0
	}
	return float64(l.acked) / l.elapsed.Seconds()
}

func (l loadResult) pct(p float64) time.Duration { return benchkit.Percentile(l.lat, p) }

// listResult is the timed GETs of the full route list.
type listResult struct {
	n        int
	p50, p95 time.Duration
	min, max time.Duration
	bytes    int
	cpu      cpuSample
}

// backendResult is one backend in one round.
type backendResult struct {
	backend    string
	put1, putN loadResult
	seed       loadResult
	list       listResult
	dials      int64 // TCP connections the client opened for the whole run
	rssStar    int64 // stargate peak RSS
	rssEtcd    int64
	startup    time.Duration
}

// client is a keep-alive HTTP/1.1 client on loopback that counts dials.
type client struct {
	base, key string
	hc        *http.Client
	dials     atomic.Int64
}

func newClient(base, key string, conns int) *client {
	c := &client{base: base, key: key}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c.dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	c.hc = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	return c
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// putRoute PUTs one route and fails on anything but 200/201.
func (c *client) putRoute(ctx context.Context, id string) error {
	body := fmt.Sprintf(`{"uri":"/bench/%s","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}}}`, id)
	if err := benchkit.AdminPut(ctx, c.hc, c.base+"/apisix/admin/routes/"+id, c.key, body); err != nil {
		return fmt.Errorf("PUT route %s: %w", id, err)
	}
	return nil
}

// putLoop PUTs distinct routes id prefix-000001.. from `clients` goroutines
// until `count` are acknowledged or `limit` has passed, whichever is first.
// A request in flight at the deadline is waited for and counted.
func (c *client) putLoop(ctx context.Context, prefix string, clients, count int, limit time.Duration) (loadResult, error) {
	var next atomic.Int64
	var acked atomic.Int64
	var firstErr error
	var errOnce sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lats := make([][]time.Duration, clients)
	start := time.Now()
	deadline := start.Add(limit)
	var last atomic.Int64 // nanoseconds since start of the last answer
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := next.Add(1)
				if n > int64(count) {
					return
				}
				id := fmt.Sprintf("%s-%06d", prefix, n)
				t0 := time.Now()
				if err := c.putRoute(ctx, id); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				t1 := time.Now()
				lats[w] = append(lats[w], t1.Sub(t0))
				acked.Add(1)
				for d := int64(t1.Sub(start)); ; {
					cur := last.Load()
					if d <= cur || last.CompareAndSwap(cur, d) {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}
	res := loadResult{clients: clients, acked: int(acked.Load()), elapsed: time.Duration(last.Load())}
	for _, l := range lats {
		res.lat = append(res.lat, l...)
	}
	slices.Sort(res.lat)
	return res, nil
}

// listRoutes GETs the full route list; it returns the time to the last
// byte of the body, the body size and the list's total.
func (c *client) listRoutes(ctx context.Context) (time.Duration, int, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/apisix/admin/routes", nil)
	if err != nil {
		return 0, 0, 0, err
	}
	req.Header.Set("X-API-KEY", c.key)
	t0 := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("GET routes: %w", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("GET routes: reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, 0, fmt.Errorf("GET routes: %s: %.500s", resp.Status, b)
	}
	var body struct {
		Total int               `json:"total"`
		List  []json.RawMessage `json:"list"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return 0, 0, 0, fmt.Errorf("GET routes: decoding answer: %w", err)
	}
	if body.Total != len(body.List) {
		return 0, 0, 0, fmt.Errorf("GET routes: total %d but %d items", body.Total, len(body.List))
	}
	return d, len(b), body.Total, nil
}

// instance is one backend under test: a stargate, its etcd if any, and a
// client.
type instance struct {
	backend string
	dir     string
	etcd    *benchkit.Proc
	sg      *benchkit.Proc
	c       *client
	have    int // routes stored so far
	res     *backendResult
	keep    bool
	profile string // path prefix for per-phase perf profiles; "" for none
}

// startInstance starts a fresh backend on fresh data dirs under work.
func startInstance(ctx context.Context, o options, work, backend string, round int, bin, profile string) (_ *instance, err error) {
	dir, err := os.MkdirTemp(work, fmt.Sprintf("r%d-%s-", round, backend))
	if err != nil {
		return nil, err
	}
	in := &instance{backend: backend, dir: dir, keep: o.keep, res: &backendResult{backend: backend}}
	defer func() {
		if err != nil {
			in.keep = true // leave the logs for the error message's reader
			_ = in.stop()
		}
	}()
	keyb := make([]byte, 16)
	_, _ = rand.Read(keyb)
	key := hex.EncodeToString(keyb)

	t0 := time.Now()
	endpoint := ""
	if backend == "etcd" {
		if in.etcd, endpoint, err = startEtcd(ctx, o.etcdBin, dir); err != nil {
			return nil, err
		}
	}
	var base string
	if in.sg, base, err = startStargate(ctx, bin, dir, key, endpoint); err != nil {
		return nil, err
	}
	in.res.startup = time.Since(t0)
	in.c = newClient(base, key, o.clients)
	in.profile = profile
	return in, nil
}

// stop stops stargate (which must exit cleanly on SIGTERM) and etcd, and
// removes the data dirs unless they are to be kept.
func (in *instance) stop() error {
	var errs []error
	if in.c != nil {
		in.c.close()
	}
	if in.sg != nil {
		in.sg.Stop()
		if in.sg.WaitErr() != nil {
			errs = append(errs, fmt.Errorf("%s: stargate exited with %v after SIGTERM\n%s", in.backend, in.sg.WaitErr(), in.sg.Tail(2048)))
			in.keep = true
		}
	}
	in.etcd.Stop()
	if !in.keep {
		_ = os.RemoveAll(in.dir)
	}
	return errors.Join(errs...)
}

// startProfile starts perf on this backend's processes for one phase;
// the returned stop is never nil.
func (in *instance) startProfile(ctx context.Context, phase string) (func() error, error) {
	if in.profile == "" {
		return func() error { return nil }, nil
	}
	pids := []int{in.sg.Pid()}
	if in.etcd != nil {
		pids = append(pids, in.etcd.Pid())
	}
	return benchkit.StartProfile(ctx, in.profile+"."+phase, pids)
}

// putPhase runs one bounded PUT loop on in, metering CPU (and profiling
// it when asked, unless phase is "").
func (in *instance) putPhase(ctx context.Context, phase, prefix string, clients, count int, limit time.Duration) (loadResult, error) {
	stopProf := func() error { return nil }
	if phase != "" {
		var err error
		if stopProf, err = in.startProfile(ctx, phase); err != nil {
			return loadResult{}, err
		}
	}
	m := startCPU(in.sg, in.etcd)
	res, err := in.c.putLoop(ctx, prefix, clients, count, limit)
	res.cpu = m.stop()
	if perr := stopProf(); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return res, fmt.Errorf("%s: %d-client PUT loop %q: %w", in.backend, clients, prefix, err)
	}
	in.have += res.acked
	return res, nil
}

// listPhase checks the store holds exactly want routes, then times the
// full list gets times, one request at a time.
func (in *instance) listPhase(ctx context.Context, want, gets int) error {
	if in.have != want {
		return fmt.Errorf("%s: seeding stored %d of %d routes within -seed-timeout", in.backend, in.have, want)
	}
	// One untimed GET, then the timed ones.
	if _, _, total, err := in.c.listRoutes(ctx); err != nil {
		return fmt.Errorf("%s: %w", in.backend, err)
	} else if total != want {
		return fmt.Errorf("%s: GET routes: total %d, want %d", in.backend, total, want)
	}
	stopProf, err := in.startProfile(ctx, "list")
	if err != nil {
		return err
	}
	m := startCPU(in.sg, in.etcd)
	var lat []time.Duration
	for range gets {
		d, size, total, err := in.c.listRoutes(ctx)
		if err != nil {
			_ = stopProf()
			return fmt.Errorf("%s: %w", in.backend, err)
		}
		if total != want {
			_ = stopProf()
			return fmt.Errorf("%s: GET routes: total %d, want %d", in.backend, total, want)
		}
		lat = append(lat, d)
		in.res.list.bytes = size
	}
	in.res.list.cpu = m.stop()
	if err := stopProf(); err != nil {
		return err
	}
	slices.Sort(lat)
	l := &in.res.list
	l.n = len(lat)
	l.p50, l.p95 = benchkit.Percentile(lat, 50), benchkit.Percentile(lat, 95)
	l.min, l.max = lat[0], lat[len(lat)-1]
	return nil
}

// finish records the per-instance facts read at the end.
func (in *instance) finish() {
	in.res.dials = in.c.dials.Load()
	in.res.rssStar = peakRSS(in.sg)
	in.res.rssEtcd = peakRSS(in.etcd)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
