package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

// adminClient is a keep-alive HTTP/1.1 client of one admin API.
type adminClient struct {
	base, key string
	hc        *http.Client
}

func newAdminClient(base, key string, conns int) *adminClient {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &adminClient{base: base, key: key, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (c *adminClient) close() { c.hc.CloseIdleConnections() }

// put PUTs one object and fails on anything but 200/201.
func (c *adminClient) put(ctx context.Context, path, body string) error {
	if err := benchkit.AdminPut(ctx, c.hc, c.base+path, c.key, body); err != nil {
		return fmt.Errorf("PUT %s: %w", path, err)
	}
	return nil
}

// metric reads one unlabelled gauge from /metrics (no key needed).
func (c *adminClient) metric(ctx context.Context, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("/metrics has no %s", name)
}

// countRoutes reads the route total from the first page of the list.
func (c *adminClient) countRoutes(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/apisix/admin/routes?page=1&page_size=10", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-API-KEY", c.key)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET routes: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET routes: %s: %.300s", resp.Status, b)
	}
	var body struct {
		Total int `json:"total"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return 0, fmt.Errorf("GET routes: %w", err)
	}
	return body.Total, nil
}

// The routes of the benchmark: route i has id r-i, uri /r/i and host
// h<i mod hosts>.bench.test, and proxies to the upstream object u1.
func routeID(i int) string { return fmt.Sprintf("r-%06d", i) }

func routeHost(i, hosts int) string { return fmt.Sprintf("h%d.bench.test", i%hosts) }

func routePath(i int) string { return "/r/" + strconv.Itoa(i) }

func routeBody(uri, host string) string {
	return fmt.Sprintf(`{"uri":%q,"host":%q,"upstream_id":"u1"}`, uri, host)
}

func upstreamBody(node string) string {
	return fmt.Sprintf(`{"type":"roundrobin","nodes":{%q:1}}`, node)
}

// seedResult is one bounded seeding loop.
type seedResult struct {
	acked   int
	elapsed time.Duration
	step    int             // tenth of the count
	marks   []time.Duration // time at which acked reached step, 2*step, ...
}

func (s seedResult) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.acked) / s.elapsed.Seconds()
}

// tenthRate is the creation rate over the i-th tenth (0-based) of the
// routes, 0 if unknown.
func (s seedResult) tenthRate(i int) float64 {
	if i >= len(s.marks) || s.step == 0 {
		return 0
	}
	d := s.marks[i]
	if i > 0 {
		d -= s.marks[i-1]
	}
	if d <= 0 {
		return 0
	}
	return float64(s.step) / d.Seconds()
}

// seed PUTs routes from..to-1 from `clients` goroutines, ending when all
// are acknowledged or `limit` has passed, whichever comes first; the
// caller checks acked. It logs its progress at every tenth.
func (c *adminClient) seed(ctx context.Context, from, to, hosts, clients int, limit time.Duration) (seedResult, error) {
	var next atomic.Int64
	next.Store(int64(from) - 1)
	var acked atomic.Int64
	var firstErr error
	var errOnce sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	deadline := start.Add(limit)
	step := max(1, (to-from)/10)
	var mu sync.Mutex
	var marks []time.Duration
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1))
				if i >= to {
					return
				}
				if err := c.put(ctx, "/apisix/admin/routes/"+routeID(i), routeBody(routePath(i), routeHost(i, hosts))); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				if v := acked.Add(1); v%int64(step) == 0 {
					d := time.Since(start)
					mu.Lock()
					marks = append(marks, d)
					mu.Unlock()
					if to-from >= 1000 {
						benchkit.Logf("  %d routes created in %.1fs", v, d.Seconds())
					}
				}
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(marks)
	res := seedResult{acked: int(acked.Load()), elapsed: time.Since(start), step: step, marks: marks}
	if firstErr != nil {
		return res, firstErr
	}
	return res, ctx.Err()
}
