// Command cache benchmarks Stargate's cache against nginx proxy_cache and
// Varnish on loopback, side by side in one run:
//
//   - HIT throughput for 1 KB and 100 KB objects with wrk (keep-alive,
//     -t2 -c64) through Stargate (a memory zone and a disk zone), nginx
//     (proxy_cache on disk, 2 workers) and Varnish (malloc storage, 2 thread
//     pools), all in front of the same origin; every server's answers are
//     checked to be HITs before and after each run, and the origin must
//     see no request during it. The server's CPU per HIT is metered from
//     /proc.
//   - optionally (-perf) a perf profile of Stargate serving 1 KB HITs;
//   - the cache package's own measurements: a regex purge of half of a
//     1M-entry index (memory zone, disk zone index) and the disk index's
//     memory per entry.
//
// The servers take turns in an order that rotates from round to round, and
// the report gives medians over rounds and ratios, as markdown.
//
//	go run ./bench/cache -rounds 3 -out /tmp/cache-bench.md
//
// It is a program, not a test: `go test ./...` never runs it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

type options struct {
	rounds         int
	duration       time.Duration
	warmup         time.Duration
	threads, conns int
	sizes          []int
	workers        int
	bin, nginx     string
	varnishd, wrk  string
	out            string
	perf           bool
	skipPurge      bool
	keep           bool
	stallRetries   int
}

func main() {
	var o options
	var sizes string
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; in each the servers take turns, in an order that rotates")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "wrk -d of each measured run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured wrk run before each measured one")
	flag.IntVar(&o.threads, "threads", 2, "wrk -t")
	flag.IntVar(&o.conns, "conns", 64, "wrk -c")
	flag.IntVar(&o.stallRetries, "stall-retries", 0, "measure a wrk run again, up to this many times, when the whole machine stopped for more than 40 ms during it (a VM's CPUs paused by its host; see benchkit.StallWatch); the stalls are reported either way")
	flag.StringVar(&sizes, "sizes", "1024,102400", "object sizes in bytes")
	flag.IntVar(&o.workers, "workers", 2, "nginx worker_processes, Varnish thread_pools and Stargate GOMAXPROCS")
	flag.StringVar(&o.bin, "bin", "", "stargate binary (default: build ./cmd/stargate)")
	flag.StringVar(&o.nginx, "nginx", "nginx", "nginx binary")
	flag.StringVar(&o.varnishd, "varnishd", "varnishd", "varnishd binary")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	flag.StringVar(&o.out, "out", "", "also write the report to this file")
	flag.BoolVar(&o.perf, "perf", false, "record a perf profile of Stargate serving 1 KB HITs")
	flag.BoolVar(&o.skipPurge, "skip-purge", false, "skip the purge and index-memory measurements")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.Parse()
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fatalf("bad -sizes %q", sizes)
		}
		o.sizes = append(o.sizes, n)
	}
	if err := run(o); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/cache: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// target is one cache server under test.
type target struct {
	name   string
	addr   string
	host   string
	header string // the response header that says HIT
	pids   func() []int
}

type runResult struct {
	rps      float64
	p50, p99 time.Duration
	requests int64
	non2xx   int64
	sockErrs int64
	cpu      time.Duration
	load     float64         // 1-minute load average before the run
	stalls   benchkit.Stalls // host stalls during the run
	retried  int             // runs measured again before this one because the host stalled
}

func (r runResult) cpuPerReq() float64 {
	if r.requests == 0 {
		return 0
	}
	return float64(r.cpu) / float64(time.Microsecond) / float64(r.requests)
}

func run(o options) error {
	dir, err := os.MkdirTemp("", "stargate-cache-bench-")
	if err != nil {
		return err
	}
	// varnishd reads its VCL after dropping to its own user.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()

	org, err := startOrigin(o.sizes)
	if err != nil {
		return err
	}
	stops = append(stops, org.close)
	logf("origin on %s", org.addr)

	bin := o.bin
	if bin == "" {
		bin = filepath.Join(dir, "stargate-bin")
		logf("building ./cmd/stargate")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/stargate")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	sg, err := startStargate(o, bin, filepath.Join(dir, "stargate"), org.addr)
	if err != nil {
		return err
	}
	stops = append(stops, sg.stop)
	ng, err := startNginx(o, filepath.Join(dir, "nginx"), org.addr)
	if err != nil {
		return err
	}
	stops = append(stops, ng.stop)
	vn, err := startVarnish(o, filepath.Join(dir, "varnish"), org.addr)
	if err != nil {
		return err
	}
	stops = append(stops, vn.stop)

	targets := []target{
		{name: "nginx proxy_cache", addr: ng.addr, host: "nginx.test", header: "X-Cache-Status", pids: ng.pids},
		{name: "Varnish", addr: vn.addr, host: "varnish.test", header: "X-Cache", pids: vn.pids},
		{name: "Stargate memory zone", addr: sg.addr, host: "mem.test", header: "Apisix-Cache-Status", pids: sg.pids},
		{name: "Stargate disk zone", addr: sg.addr, host: "disk.test", header: "Apisix-Cache-Status", pids: sg.pids},
	}
	// Fill every cache and check that the second request is a HIT.
	for _, t := range targets {
		for _, size := range o.sizes {
			if _, err := get(t, size); err != nil {
				return err
			}
			if err := assertHit(t, size); err != nil {
				return err
			}
		}
	}
	logf("all caches filled; origin requests so far: %d", org.count.Load())

	results := map[string]map[int][]runResult{}
	for _, t := range targets {
		results[t.name] = map[int][]runResult{}
	}
	for round := 0; round < o.rounds; round++ {
		for _, size := range o.sizes {
			for i := range targets {
				t := targets[(i+round)%len(targets)]
				r, err := measure(o, t, size, org)
				if err != nil {
					return fmt.Errorf("round %d %s %d B: %w", round+1, t.name, size, err)
				}
				logf("round %d %-22s %6d B: %8.0f req/s  p50 %v  p99 %v  cpu %.1f µs/req  (load %.1f, host stalls %d)",
					round+1, t.name, size, r.rps, r.p50, r.p99, r.cpuPerReq(), r.load, r.stalls.Count)
				results[t.name][size] = append(results[t.name][size], r)
			}
		}
	}

	var profile string
	if o.perf {
		profile, err = perfProfile(o, targets[2], o.sizes[0], dir)
		if err != nil {
			logf("perf: %v", err)
		}
	}
	var purge, memPer string
	if !o.skipPurge {
		purge, memPer = cacheMeasurements()
	}
	report := render(o, targets, results, profile, purge, memPer)
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// origin serves /obj/<size> bodies that every cache may keep for a day,
// counting the requests it gets.
type origin struct {
	addr  string
	count atomic.Int64
	srv   *http.Server
}

func startOrigin(sizes []int) (*origin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o := &origin{addr: ln.Addr().String()}
	bodies := map[string][]byte{}
	for _, s := range sizes {
		b := make([]byte, s)
		for i := range b {
			b[i] = 'a' + byte(i%26)
		}
		bodies["/obj/"+strconv.Itoa(s)] = b
	}
	lm := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	o.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.count.Add(1)
		b, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=86400")
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Last-Modified", lm)
		h.Set("ETag", `"`+strconv.Itoa(len(b))+`"`)
		_, _ = w.Write(b)
	})}
	go o.srv.Serve(ln)
	return o, nil
}

func (o *origin) close() { _ = o.srv.Close() }

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// server is a started process.
type server struct {
	addr string
	cmd  *exec.Cmd
}

func (s *server) pids() []int { return processTree(s.cmd.Process.Pid) }

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	}
}

// processTree is pid and its descendants.
func processTree(pid int) []int {
	parents := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 {
			pp, _ := strconv.Atoi(f[1])
			parents[pp] = append(parents[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parents[out[i]]...)
	}
	return out
}

// cpuOf is the user+system CPU of the processes so far.
func cpuOf(pids []int) time.Duration {
	var d time.Duration
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		d += time.Duration(u+st) * time.Second / 100 // USER_HZ
	}
	return d
}

func waitHTTP(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func startStargate(o options, bin, dir, originAddr string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var ports []string
	for i := 0; i < 4; i++ {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports = append(ports, p)
	}
	conf := fmt.Sprintf(`data_dir: %s
admin_listen: %s
http_listen: %s
https_listen: %s
dns_listen: %s
admin_key: bench-key
log_level: warn
cache_zones:
  - {name: memory_cache, kind: memory, size: 1073741824}
  - {name: disk_cache_one, kind: disk, size: 2147483648}
`, filepath.Join(dir, "data"), ports[0], ports[1], ports[2], ports[3])
	cf := filepath.Join(dir, "stargate.yaml")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", cf)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(o.workers))
	logFile, err := os.Create(filepath.Join(dir, "stargate.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{addr: ports[1], cmd: cmd}
	admin := "http://" + ports[0]
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(admin + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("stargate did not become ready (see its log)")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, rt := range []struct{ id, host, strategy, zone string }{
		{"mem", "mem.test", "memory", "memory_cache"},
		{"disk", "disk.test", "disk", "disk_cache_one"},
	} {
		body := fmt.Sprintf(`{"uri":"/obj/*","host":%q,"plugins":{"proxy-cache":{"cache_strategy":%q,"cache_zone":%q}},"upstream":{"nodes":{%q:1}}}`,
			rt.host, rt.strategy, rt.zone, originAddr)
		req, _ := http.NewRequest("PUT", admin+"/apisix/admin/routes/"+rt.id, strings.NewReader(body))
		req.Header.Set("X-API-KEY", "bench-key")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			s.stop()
			return nil, err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 300 {
			s.stop()
			return nil, fmt.Errorf("route %s: %d %s", rt.id, res.StatusCode, b)
		}
	}
	logf("stargate on %s (GOMAXPROCS=%d)", s.addr, o.workers)
	return s, nil
}

func startNginx(o options, dir, originAddr string) (*server, error) {
	if err := os.MkdirAll(filepath.Join(dir, "cache"), 0o755); err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`worker_processes %d;
daemon off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path %s/tmp;
    proxy_temp_path %s/tmp;
    proxy_cache_path %s/cache levels=1:2 keys_zone=one:64m max_size=2g inactive=1d use_temp_path=off;
    upstream origin { server %s; keepalive 16; }
    server {
        listen %s;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache one;
            proxy_cache_key $host$request_uri;
            proxy_cache_lock on;
            add_header X-Cache-Status $upstream_cache_status;
        }
    }
}
`, o.workers, dir, dir, dir, dir, dir, originAddr, addr)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(o.nginx, "-p", dir, "-c", cf, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{addr: addr, cmd: cmd}
	if err := waitHTTP(addr, 10*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	logf("nginx on %s (%d workers)", addr, o.workers)
	return s, nil
}

func startVarnish(o options, dir, originAddr string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(originAddr)
	vcl := fmt.Sprintf(`vcl 4.1;
backend default { .host = %q; .port = %q; }
sub vcl_deliver {
    if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
`, host, port)
	vf := filepath.Join(dir, "default.vcl")
	if err := os.WriteFile(vf, []byte(vcl), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(o.varnishd, "-F", "-n", filepath.Join(dir, "n"), "-a", addr, "-f", vf,
		"-s", "malloc,1g", "-p", "thread_pools="+strconv.Itoa(o.workers))
	logFile, err := os.Create(filepath.Join(dir, "varnish.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{addr: addr, cmd: cmd}
	if err := waitHTTP(addr, 20*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	logf("varnish on %s (%d thread pools)", addr, o.workers)
	return s, nil
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}

func get(t target, size int) (*http.Response, error) {
	req, _ := http.NewRequest("GET", "http://"+t.addr+"/obj/"+strconv.Itoa(size), nil)
	req.Host = t.host
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || n != int64(size) {
		return nil, fmt.Errorf("%s: %d, %d bytes, %v", t.name, res.StatusCode, n, err)
	}
	return res, nil
}

func assertHit(t target, size int) error {
	res, err := get(t, size)
	if err != nil {
		return err
	}
	if v := res.Header.Get(t.header); v != "HIT" {
		return fmt.Errorf("%s %d B: %s %q, want HIT", t.name, size, t.header, v)
	}
	return nil
}

func loadAvg() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// measure runs wrk against one target and checks every answer was a HIT:
// one before and after, and no origin request in between.
func measure(o options, t target, size int, org *origin) (runResult, error) {
	url := "http://" + t.addr + "/obj/" + strconv.Itoa(size)
	if err := assertHit(t, size); err != nil {
		return runResult{}, err
	}
	before := org.count.Load()
	if o.warmup > 0 {
		if _, err := wrk(o, t, url, o.warmup); err != nil {
			return runResult{}, err
		}
	}
	load := loadAvg()
	pids := t.pids()
	var r runResult
	stalls, retried, err := benchkit.Unstalled(o.stallRetries, func() (err error) {
		c0 := cpuOf(pids)
		if r, err = wrk(o, t, url, o.duration); err == nil {
			r.cpu = cpuOf(pids) - c0
		}
		return err
	}, func(s benchkit.Stalls) {
		logf("%s %d B: the host stalled %d times during the run (worst %v): measuring again", t.name, size, s.Count, s.Worst.Round(time.Millisecond))
	})
	if err != nil {
		return runResult{}, err
	}
	r.stalls, r.retried, r.load = stalls, retried, load
	if err := assertHit(t, size); err != nil {
		return runResult{}, err
	}
	if n := org.count.Load() - before; n != 0 {
		return runResult{}, fmt.Errorf("%s: the origin got %d requests during the run: not all HITs", t.name, n)
	}
	if r.non2xx > 0 || r.sockErrs > 0 {
		return runResult{}, fmt.Errorf("%s: %d non-2xx answers, %d socket errors", t.name, r.non2xx, r.sockErrs)
	}
	return r, nil
}

var (
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reRequests = regexp.MustCompile(`(\d+) requests in`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSock     = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	rePct      = regexp.MustCompile(`^\s+(50|99)%\s+([0-9.]+)(us|ms|s)`)
)

func wrk(o options, t target, url string, d time.Duration) (runResult, error) {
	secs := int(d.Seconds())
	if secs < 1 {
		secs = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.wrk, "-t"+strconv.Itoa(o.threads), "-c"+strconv.Itoa(o.conns),
		"-d"+strconv.Itoa(secs)+"s", "--latency", "-H", "Host: "+t.host, url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return runResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	var r runResult
	s := string(out)
	if m := reRPS.FindStringSubmatch(s); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reRequests.FindStringSubmatch(s); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reNon2xx.FindStringSubmatch(s); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSock.FindStringSubmatch(s); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			r.sockErrs += n
		}
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if m := rePct.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
			dd := time.Duration(v * float64(unit))
			if m[1] == "50" {
				r.p50 = dd
			} else {
				r.p99 = dd
			}
		}
	}
	if r.requests == 0 {
		return r, fmt.Errorf("wrk output not understood: %s", s)
	}
	return r, nil
}

// perfProfile records Stargate while it serves HITs and returns the top
// of `perf report`.
func perfProfile(o options, t target, size int, dir string) (string, error) {
	data := filepath.Join(dir, "perf.data")
	pid := t.pids()[0]
	d := o.duration
	rec := exec.Command("perf", "record", "-F", "997", "-g", "-p", strconv.Itoa(pid), "-o", data, "--", "sleep", strconv.Itoa(int(d.Seconds())))
	rec.Stdout, rec.Stderr = io.Discard, io.Discard
	if err := rec.Start(); err != nil {
		return "", err
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := wrk(o, t, "http://"+t.addr+"/obj/"+strconv.Itoa(size), d-time.Second); err != nil {
		return "", err
	}
	if err := rec.Wait(); err != nil {
		return "", err
	}
	clean := func(out []byte, keep func(string) bool) []string {
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if l = strings.TrimRight(l, " -"); l == "" || strings.HasPrefix(l, "#") || !keep(l) {
				continue
			}
			f := strings.Fields(l)
			lines = append(lines, strings.Join(f, " "))
		}
		return lines
	}
	// Inclusive cost of the frames that tell where a HIT's time goes.
	frames := []string{"net/http.(*conn).serve", "net/http.(*conn).readRequest", "net/http.(*response).finishRequest",
		"proxy.(*Handler).ServeHTTP", "proxy.(*Handler).forward", "proxy.(*Handler).send", "router.(*Router).Match",
		"proxycache.(*cacher).Respond", "proxycache.(*cacher).answer", "cache.(*Zone).Lookup", "maps.Clone",
		"runtime.mallocgc", "runtime.gcBgMarkWorker", "runtime.schedule", "runtime.netpoll",
		"internal/poll.(*FD).Read", "internal/poll.(*FD).Write", "entry_SYSCALL_64"}
	inc, err := exec.Command("perf", "report", "-i", data, "--children", "--sort", "symbol", "--stdio", "-g", "none").Output()
	if err != nil {
		return "", err
	}
	children := clean(inc, func(l string) bool {
		f := strings.Fields(l)
		if len(f) == 0 {
			return false
		}
		sym := f[len(f)-1]
		for _, fr := range frames {
			if strings.HasSuffix(sym, fr) {
				return true
			}
		}
		return false
	})
	flat, err := exec.Command("perf", "report", "-i", data, "--no-children", "--sort", "symbol", "--stdio", "-g", "none", "--percent-limit", "1").Output()
	if err != nil {
		return "", err
	}
	return "inclusive (children), selected frames:\n" + strings.Join(children, "\n") +
		"\n\nself, top symbols:\n" + strings.Join(clean(flat, func(string) bool { return true }), "\n"), nil
}

// cacheMeasurements runs the cache package's purge benchmark and index
// memory measurement.
func cacheMeasurements() (purge, memPer string) {
	logf("purge benchmark (1M entries)")
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkPurge$", "-benchtime", "1x", "-count", "1", "./internal/cache/").CombinedOutput()
	if err != nil {
		purge = fmt.Sprintf("failed: %v\n%s", err, out)
	} else {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "BenchmarkPurge/") {
				purge += l + "\n"
			}
		}
	}
	logf("index memory per entry")
	out, err = exec.Command("go", "test", "-run", "^TestIndexMemoryPerEntry$", "-v", "-count", "1", "./internal/cache/").CombinedOutput()
	if err != nil {
		memPer = fmt.Sprintf("failed: %v\n%s", err, out)
	} else {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "bytes per entry") {
				memPer = strings.TrimSpace(l[strings.Index(l, "disk index"):])
			}
		}
	}
	return purge, memPer
}

func render(o options, targets []target, res map[string]map[int][]runResult, profile, purge, memPer string) string {
	var b strings.Builder
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(&b, "### Cache HIT throughput (wrk -t%d -c%d, %v runs, medians of %d rounds)\n\n", o.threads, o.conns, o.duration, o.rounds)
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, Linux %s; %d nginx workers, %d Varnish thread pools, GOMAXPROCS=%d.\n\n",
		host, runtime.NumCPU(), strings.TrimSpace(string(kernel)), o.workers, o.workers, o.workers)
	for _, size := range o.sizes {
		fmt.Fprintf(&b, "**%s objects**\n\n", humanSize(size))
		fmt.Fprintf(&b, "| server | req/s | × nginx | × Varnish | p50 | p99 | server CPU per HIT (µs) | load avg before runs |\n|---|--:|--:|--:|--:|--:|--:|--:|\n")
		med := func(name string, f func(runResult) float64) float64 {
			var v []float64
			for _, r := range res[name][size] {
				v = append(v, f(r))
			}
			return benchkit.Median(v)
		}
		rps := func(r runResult) float64 { return r.rps }
		nginxRPS, varnishRPS := med(targets[0].name, rps), med(targets[1].name, rps)
		for _, t := range targets {
			r := med(t.name, rps)
			fmt.Fprintf(&b, "| %s | %.0f | %.2f× | %.2f× | %v | %v | %.1f | %.1f |\n", t.name, r, r/nginxRPS, r/varnishRPS,
				time.Duration(med(t.name, func(r runResult) float64 { return float64(r.p50) })).Round(time.Microsecond),
				time.Duration(med(t.name, func(r runResult) float64 { return float64(r.p99) })).Round(time.Microsecond),
				med(t.name, runResult.cpuPerReq), med(t.name, func(r runResult) float64 { return r.load }))
		}
		fmt.Fprintf(&b, "\nPer round (req/s):\n\n| server |")
		for i := 0; i < o.rounds; i++ {
			fmt.Fprintf(&b, " round %d |", i+1)
		}
		fmt.Fprintf(&b, "\n|---|%s\n", strings.Repeat("--:|", o.rounds))
		for _, t := range targets {
			fmt.Fprintf(&b, "| %s |", t.name)
			for _, r := range res[t.name][size] {
				fmt.Fprintf(&b, " %.0f |", r.rps)
			}
			fmt.Fprintln(&b)
		}
		fmt.Fprintln(&b)
	}
	b.WriteString("Every run was checked: a HIT before and after it, no origin request during it, no non-2xx answer.\n\n")
	var st benchkit.StallTally
	for _, t := range targets {
		for _, size := range o.sizes {
			for _, r := range res[t.name][size] {
				st.Add(t.name, r.stalls, r.retried)
			}
		}
	}
	fmt.Fprintf(&b, "A thread of the benchmark sleeps 1 ms at a time during each measured run; when it wakes more than %v late the whole machine has stopped (on a VM, its host paused the CPUs). It stopped during %d of %d runs", benchkit.StallThreshold, st.Stalled, st.Measured)
	if st.Stalled > 0 {
		fmt.Fprintf(&b, " (%s)", st.PerServer())
	}
	fmt.Fprintf(&b, "; with -stall-retries %d, %d of them were measured again.\n\n", o.stallRetries, st.Retried)
	if profile != "" {
		fmt.Fprintf(&b, "### perf profile of Stargate serving %s HITs (memory zone)\n\n```\n%s\n```\n\n", humanSize(o.sizes[0]), profile)
	}
	if purge != "" || memPer != "" {
		fmt.Fprintf(&b, "### Purge and index memory (go test ./internal/cache)\n\n```\n%s%s\n```\n", purge, memPer)
	}
	return b.String()
}

func humanSize(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return strconv.Itoa(n/1024) + " KB"
	}
	return strconv.Itoa(n) + " B"
}
