// Command proxy benchmarks Stargate's data plane against real processes on
// loopback, side by side in one run:
//
//   - proxy throughput: a 1 KB upstream answer through Stargate and through
//     nginx proxy_pass (upstream keepalive), both in front of the same
//     static nginx upstream, with wrk (keep-alive, -t2 -c64);
//   - for reference, two Go floors in front of the same upstream: a bare
//     goroutine-per-connection forwarder (floor.go), which shows how much
//     of the gap to nginx is the runtime model and how much is Stargate's
//     own code, and the same forwarding from epoll loops
//     (floor_epoll_linux.go), what an event-loop design could reach;
//   - router scale: the same load through Stargate holding 10, 10,000 and
//     100,000 routes (about 100 hosts), hitting a route in the middle, with
//     the process's memory before and after the routes were created;
//   - propagation: the time from the admin API's answer (and from the PUT
//     being sent) to the first proxied request that sees a new route.
//
// One Stargate per route count is started and filled once (or from
// -routes-cache); in each round the servers take turns (the order rotates
// from round to round), and the report gives medians over rounds and
// ratios as markdown.
//
//	go run ./bench/proxy -rounds 3 -out /tmp/proxy-bench.md
//
// It is a program, not a test: `go test ./...` never runs it.
package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

type options struct {
	rounds          int
	duration        time.Duration
	warmup          time.Duration
	threads, conns  int
	sizes           []int
	hosts           int
	clients         int
	changes         int
	perChange       time.Duration
	seedTimeout     time.Duration
	bodySize        int
	nginxWorkers    int
	upstreamWorkers int
	quietWait       time.Duration
	stallRetries    int
	bin             string
	nginxBin        string
	wrk             string
	dir             string
	out             string
	cpuprofile      string
	commit          string
	commitDesc      string // what the report names as the binary's source
	routesCache     string
	runTag          string // distinguishes this run's propagation routes
	keep            bool
	plugins         bool
	browser         bool
	floor           bool
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == floorArg {
		floorMain(os.Args[2], os.Args[3])
		return
	}
	if len(os.Args) == 4 && os.Args[1] == epollFloorArg {
		epollFloorMain(os.Args[2], os.Args[3])
		return
	}
	var o options
	var sizes string
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; in each the servers take turns, in an order that rotates from round to round")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "wrk -d of each measured run (whole seconds)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured wrk run right before each measured one (0 = none)")
	flag.IntVar(&o.threads, "threads", 2, "wrk -t")
	flag.IntVar(&o.conns, "conns", 64, "wrk -c")
	flag.StringVar(&sizes, "routes", "10,10000,100000", "comma list of route counts for the router-scale and propagation phases; the throughput phase uses the first")
	flag.IntVar(&o.hosts, "hosts", 100, "distinct route hosts")
	flag.IntVar(&o.clients, "clients", 32, "concurrent admin clients creating the routes")
	flag.BoolVar(&o.plugins, "plugins", true, "also measure the 10-route instance with key-auth, limit-count and prometheus on the route (the plugin-cost figure)")
	flag.BoolVar(&o.browser, "browser", true, "also measure Stargate and nginx with the 13 fields a browser sends with a page load on every request (browserFields), where wrk alone sends Host")
	flag.BoolVar(&o.floor, "go-floor", true, "also measure the two Go floors in front of the same upstream: a bare goroutine-per-connection forwarder (what Stargate's runtime model costs without Stargate's code) and the same forwarding from epoll loops (what an event-loop design could reach)")
	flag.IntVar(&o.changes, "changes", 200, "route creations timed per instance and round in the propagation phase")
	flag.DurationVar(&o.perChange, "change-timeout", 10*time.Second, "time bound for one change to become visible; a change not visible by then is recorded at the bound and counted")
	flag.DurationVar(&o.seedTimeout, "seed-timeout", 90*time.Minute, "time bound for creating one instance's routes")
	flag.IntVar(&o.bodySize, "body", 1024, "bytes of the upstream's answer body")
	flag.IntVar(&o.nginxWorkers, "nginx-workers", 2, "worker_processes of the nginx proxy (Stargate runs one event loop per CPU)")
	flag.IntVar(&o.upstreamWorkers, "upstream-workers", 1, "worker_processes of the static nginx upstream")
	flag.IntVar(&o.stallRetries, "stall-retries", 0, "measure a wrk run again, up to this many times, when the whole machine stopped for more than 40 ms during it (a VM's CPUs paused by its host; see benchkit.StallWatch). Off by default: the host stops more often under Stargate's load, so retries favour it; the stalls are reported either way")
	flag.DurationVar(&o.quietWait, "quiet-wait", time.Minute, "before each measured wrk run and each propagation phase, wait up to this long for a second in which the machine is under 15% busy (0 = don't)")
	flag.StringVar(&o.bin, "bin", "", "stargate binary (default: go build ./cmd/stargate from this module into a temp dir)")
	flag.StringVar(&o.nginxBin, "nginx", "nginx", "nginx binary")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	flag.StringVar(&o.dir, "dir", "", "parent directory of the temp dir (default: $TMPDIR or /tmp)")
	flag.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "in the last round, record each measured Stargate wrk run with perf record -g: FILE.<phase> (perf.data) and FILE.<phase>.txt (flat top); that round carries perf's overhead")
	flag.StringVar(&o.commit, "commit", "", "what -bin was built from, for the report (default: this checkout's HEAD when building, \"unknown\" with -bin)")
	flag.StringVar(&o.routesCache, "routes-cache", "", "directory keeping each instance's bolt file right after its routes were created; later runs copy it instead of creating the routes again (their creation figures are then the caching run's)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (configs, logs, data dirs)")
	flag.Parse()
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "proxy bench: bad -routes entry %q\n", s)
			os.Exit(2)
		}
		if len(o.sizes) > 0 && n <= o.sizes[len(o.sizes)-1] {
			fmt.Fprintln(os.Stderr, "proxy bench: -routes must be increasing")
			os.Exit(2)
		}
		o.sizes = append(o.sizes, n)
	}
	if o.rounds < 1 || o.duration < time.Second || o.threads < 1 || o.conns < o.threads || o.hosts < 1 || o.clients < 1 ||
		o.changes < 1 || o.bodySize < 1 || o.nginxWorkers < 1 || o.upstreamWorkers < 1 || len(o.sizes) == 0 {
		fmt.Fprintln(os.Stderr, "proxy bench: -rounds, -threads, -hosts, -clients, -changes, -body and the worker counts must be positive, -conns ≥ -threads, -duration ≥ 1s")
		os.Exit(2)
	}
	benchkit.Main("proxy bench", func(ctx context.Context) error { return run(ctx, o) })
}

func run(ctx context.Context, o options) (err error) {
	for _, b := range []string{o.nginxBin, o.wrk} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s not found (apt-get install nginx-light wrk): %w", b, err)
		}
	}
	work, release, err := benchkit.WorkDir(o.dir, "sg-proxy-bench-")
	if err != nil {
		return err
	}
	defer func() { release(o.keep || err != nil) }()
	bin, err := benchkit.StargateBinary(ctx, o.bin, work)
	if err != nil {
		return err
	}
	m := describeMachine(ctx, bin, o)
	o.commitDesc = m.commit
	tag := make([]byte, 3)
	_, _ = rand.Read(tag)
	o.runTag = hex.EncodeToString(tag)
	benchkit.Logf("machine: %s", m.oneLine())

	// One static upstream and one nginx proxy for the whole run; they keep
	// no state between requests.
	body := strings.Repeat("a", o.bodySize)
	up, err := startNginx(ctx, o.nginxBin, filepath.Join(work, "upstream"), nginxParams{Workers: o.upstreamWorkers, Body: body})
	if err != nil {
		return fmt.Errorf("upstream nginx: %w", err)
	}
	defer up.stop()
	front, err := startNginx(ctx, o.nginxBin, filepath.Join(work, "nginx-proxy"), nginxParams{Workers: o.nginxWorkers, Upstream: up.addr})
	if err != nil {
		return fmt.Errorf("nginx proxy: %w", err)
	}
	defer front.stop()
	benchkit.Logf("upstream nginx %s (%d worker), nginx proxy %s (%d workers)", up.addr, len(up.workers), front.addr, len(front.workers))
	var fl []*floorProc
	if o.floor {
		for _, f := range floors {
			p, err := startFloor(ctx, work, f.key, f.name, f.arg, up.addr)
			if err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			defer p.stop()
			fl = append(fl, p)
		}
	}

	// One Stargate per route count for the whole run: creating 100,000
	// routes through the admin API takes minutes, so it is done once.
	insts := map[int]*instance{}
	defer func() {
		for _, in := range insts {
			in.a.close()
			in.sg.P.Stop()
			if in.sg.P.WaitErr() != nil && err == nil {
				err = fmt.Errorf("stargate (%d routes) exited with %v after SIGTERM\n%s", in.size, in.sg.P.WaitErr(), in.sg.P.Tail(2048))
			}
		}
	}()
	keyb := make([]byte, 16)
	_, _ = rand.Read(keyb)
	key := hex.EncodeToString(keyb)
	for _, n := range o.sizes {
		in, err := newInstance(ctx, o, work, bin, key, n, up)
		if in != nil {
			insts[n] = in
		}
		if err != nil {
			return err
		}
	}

	if o.plugins {
		if err := setupPluginRoute(ctx, insts[o.sizes[0]]); err != nil {
			return fmt.Errorf("plugin route: %w", err)
		}
	}

	var results []*roundResult
	for r := 1; r <= o.rounds; r++ {
		rr, err := runRound(ctx, o, r, insts, up, front, fl)
		if err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		results = append(results, rr)
	}
	for _, n := range []*nginx{up, front} {
		if !n.p.Alive() {
			return fmt.Errorf("nginx %s exited during the run: %v", n.addr, n.p.WaitErr())
		}
	}
	for _, f := range fl {
		if !f.p.Alive() {
			return fmt.Errorf("%s exited during the run: %v\n%s", f.name, f.p.WaitErr(), f.p.Tail(2048))
		}
	}

	return benchkit.WriteReport(o.out, func(w io.Writer) { report(w, o, m, insts, results) })
}

// instance is one Stargate holding `size` benchmark routes (plus the
// routes the propagation phases add).
type instance struct {
	size       int
	routes     int // routes stored now
	sg         *benchkit.Stargate
	a          *adminClient
	seed       seedResult
	cached     bool             // routes copied from -routes-cache, not created in this run
	cacheNote  string           // when and by what the cached routes were created
	memBefore  benchkit.MemInfo // after start and the upstream object, before the routes
	heapBefore float64          // go_memstats_heap_inuse_bytes
	dbBytes    int64
}

// memSample is an instance's memory at the end of a round's load phases.
type memSample struct {
	mem    benchkit.MemInfo
	heap   float64
	routes int
}

// newInstance starts a Stargate holding the upstream object u1 and n
// routes: created through the admin API, or copied from -routes-cache
// when it has them. On error the returned instance (if any) must still be
// stopped.
func newInstance(ctx context.Context, o options, work, bin, key string, n int, up *nginx) (*instance, error) {
	dir, err := os.MkdirTemp(work, fmt.Sprintf("routes%d-", n))
	if err != nil {
		return nil, err
	}
	dbPath := filepath.Join(dir, "data", "stargate.db")
	var meta cacheMeta
	cached := false
	if o.routesCache != "" {
		if meta, cached, err = loadCache(o.routesCache, n, o.hosts, dbPath); err != nil {
			return nil, fmt.Errorf("routes cache: %w", err)
		}
	}
	sg, err := startStargate(ctx, bin, dir, key)
	if err != nil {
		return nil, err
	}
	in := &instance{size: n, sg: sg, a: newAdminClient(sg.Admin, key, o.clients), cached: cached}
	// In a cached store u1 points at an earlier run's upstream: this PUT
	// moves it (and recompiles every route using it).
	if err := in.a.put(ctx, "/apisix/admin/upstreams/u1", upstreamBody(up.addr)); err != nil {
		return in, err
	}
	if cached {
		in.seed = seedResult{acked: meta.Acked, elapsed: meta.Elapsed, step: meta.Step, marks: meta.Marks}
		in.cacheNote = fmt.Sprintf("created %s by commit %s", meta.Created.UTC().Format("2006-01-02 15:04 UTC"), meta.Commit)
		benchkit.Logf("stargate with %d routes from the routes cache (%s)", n, in.cacheNote)
	} else {
		in.memBefore = benchkit.ReadMem(sg.P.Pid())
		in.heapBefore, _ = in.a.metric(ctx, "go_memstats_heap_inuse_bytes")
		benchkit.Logf("creating %d routes with %d clients", n, o.clients)
		if in.seed, err = in.a.seed(ctx, 0, n, o.hosts, o.clients, o.seedTimeout); err != nil {
			return in, fmt.Errorf("creating %d routes: %w", n, err)
		}
		if in.seed.acked != n {
			return in, fmt.Errorf("created %d of %d routes within -seed-timeout %v", in.seed.acked, n, o.seedTimeout)
		}
		benchkit.Logf("stargate with %d routes: created at %.0f/s overall (first tenth %.0f/s, last tenth %.0f/s), RSS %.0f MiB",
			n, in.seed.rate(), in.seed.tenthRate(0), in.seed.tenthRate(9), mib(benchkit.ReadMem(sg.P.Pid()).RSS))
	}
	total, err := in.a.countRoutes(ctx)
	if err != nil {
		return in, err
	}
	if total != n {
		return in, fmt.Errorf("stargate holds %d routes, want %d", total, n)
	}
	in.routes = total
	if cached {
		// The admin API waits at most a few seconds for the data plane, and
		// recompiling every route that uses u1 can take longer: wait until
		// the route the load hits proxies to this run's upstream.
		path, host := in.mid(o.hosts)
		t := target{name: fmt.Sprintf("stargate (%d routes)", n), addr: sg.Proxy, host: host, path: path}
		deadline := time.Now().Add(5 * time.Minute)
		for {
			err := check(ctx, t, o.bodySize)
			if err == nil {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return in, fmt.Errorf("cached routes not served after moving u1: %w", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if fi, err := os.Stat(dbPath); err == nil {
		in.dbBytes = fi.Size()
	}
	if o.routesCache != "" && !cached {
		m := cacheMeta{Routes: n, Hosts: o.hosts, Clients: o.clients, Created: time.Now().UTC(), Commit: o.commitDesc,
			Acked: in.seed.acked, Elapsed: in.seed.elapsed, Step: in.seed.step, Marks: in.seed.marks}
		if err := saveCache(o.routesCache, n, o.hosts, dbPath, m); err != nil {
			return in, fmt.Errorf("routes cache: %w", err)
		}
	}
	return in, nil
}

// mid is the route the load hits: the one in the middle.
func (in *instance) mid(hosts int) (path, host string) {
	i := in.size / 2
	return routePath(i), routeHost(i, hosts)
}

// roundResult is everything measured in one round.
type roundResult struct {
	round      int
	quietBusy  float64 // machine busy share in the last quiet-wait sample before the propagation phase
	tput       map[string]wrkResult
	tputOrder  []string
	scale      map[int]wrkResult
	scaleOrder []int
	mem        map[int]memSample
	prop       map[int]propResult
	propOrder  []int
}

func rotate[T any](xs []T, k int) []T {
	k %= len(xs)
	return append(slices.Clone(xs[k:]), xs[:k]...)
}

func runRound(ctx context.Context, o options, r int, insts map[int]*instance, up, front *nginx, fl []*floorProc) (*roundResult, error) {
	rr := &roundResult{round: r, tput: map[string]wrkResult{}, scale: map[int]wrkResult{}, mem: map[int]memSample{}, prop: map[int]propResult{}}
	benchkit.Logf("round %d/%d", r, o.rounds)

	sgTarget := func(in *instance) target {
		path, host := in.mid(o.hosts)
		return target{name: fmt.Sprintf("stargate (%d routes)", in.size), addr: in.sg.Proxy, host: host, path: path,
			pids: func() []int { return []int{in.sg.P.Pid()} }, upstream: up.pids}
	}
	measure := func(phase string, t target, pid int) (wrkResult, error) {
		if err := check(ctx, t, o.bodySize); err != nil {
			return wrkResult{}, err
		}
		quiet := 0.0
		if o.quietWait > 0 {
			quiet = waitQuiet(ctx, o.quietWait)
		}
		if o.warmup > 0 {
			if _, err := runWrk(ctx, o, t, o.warmup); err != nil {
				return wrkResult{}, fmt.Errorf("warm-up: %w", err)
			}
		}
		stopProf := func() error { return nil }
		if o.cpuprofile != "" && r == o.rounds && pid > 0 {
			var err error
			if stopProf, err = benchkit.StartProfile(ctx, o.cpuprofile+"."+phase, []int{pid}); err != nil {
				return wrkResult{}, err
			}
		}
		var res wrkResult
		stalls, retried, err := benchkit.Unstalled(o.stallRetries, func() (err error) {
			res, err = runWrk(ctx, o, t, o.duration)
			return err
		}, func(s benchkit.Stalls) {
			benchkit.Logf("round %d: %-24s the host stalled %d times during the run (worst %.0f ms): measuring again",
				r, t.name, s.Count, ms(s.Worst))
		})
		res.stalls, res.retried, res.quietBusy = stalls, retried, quiet
		if perr := stopProf(); perr != nil && err == nil {
			err = perr
		}
		if err == nil {
			cpu := res.proxyCPU
			if len(t.pids()) == 0 { // the upstream itself
				cpu = res.upstreamCPU
			}
			benchkit.Logf("round %d: %-24s %8.0f req/s  p99 %6.2f ms  server CPU %5.1f µs/req  (machine %3.0f%% busy, others %3.0f%%, host stalls %d)",
				r, t.name, res.rps, ms(res.p99), res.perReq(cpu), 100*res.busy, 100*res.otherShare(), res.stalls.Count)
		}
		return res, err
	}

	// 1. Throughput: Stargate and nginx (and the bare upstream, for
	// reference) in front of the same upstream, taking turns.
	small := insts[o.sizes[0]]
	path, host := small.mid(o.hosts)
	targets := map[string]target{
		"stargate": sgTarget(small),
		"nginx":    {name: "nginx proxy_pass", addr: front.addr, host: host, path: path, pids: front.pids, upstream: up.pids},
		"upstream": {name: "upstream direct", addr: up.addr, host: host, path: path, pids: func() []int { return nil }, upstream: up.pids},
	}
	order := []string{"stargate", "nginx", "upstream"}
	for _, f := range fl {
		targets[f.key] = target{name: f.name, addr: f.addr, host: host, path: path, pids: f.pids, upstream: up.pids}
		order = append(order, f.key)
	}
	if o.plugins {
		targets["plugins"] = target{name: "stargate + 3 plugins", addr: small.sg.Proxy, host: pluginHost, path: pluginPath,
			headers: []string{"apikey: " + pluginKey}, pids: func() []int { return []int{small.sg.P.Pid()} }, upstream: up.pids}
		order = append(order, "plugins")
	}
	if o.browser {
		sb, nb := targets["stargate"], targets["nginx"]
		sb.name, sb.headers = "stargate, browser fields", browserFields
		nb.name, nb.headers = "nginx, browser fields", browserFields
		targets["stargate-browser"], targets["nginx-browser"] = sb, nb
		order = append(order, "stargate-browser", "nginx-browser")
	}
	rr.tputOrder = rotate(order, r-1)
	for _, k := range rr.tputOrder {
		pid := 0
		if k == "stargate" || k == "plugins" || k == "stargate-browser" {
			pid = small.sg.P.Pid()
		}
		res, err := measure("throughput", targets[k], pid)
		if err != nil {
			return rr, err
		}
		rr.tput[k] = res
	}

	// 2. Router scale: the same load on each instance, taking turns.
	rr.scaleOrder = rotate(o.sizes, r-1)
	for _, n := range rr.scaleOrder {
		res, err := measure(fmt.Sprintf("routes%d", n), sgTarget(insts[n]), insts[n].sg.P.Pid())
		if err != nil {
			return rr, err
		}
		rr.scale[n] = res
	}
	for _, n := range o.sizes {
		in := insts[n]
		smp := memSample{mem: benchkit.ReadMem(in.sg.P.Pid()), routes: in.routes}
		smp.heap, _ = in.a.metric(ctx, "go_memstats_heap_inuse_bytes")
		rr.mem[n] = smp
	}

	// 3. Propagation: new routes, one at a time, on each instance in turn.
	rr.propOrder = rotate(o.sizes, r-1)
	if o.quietWait > 0 {
		rr.quietBusy = waitQuiet(ctx, o.quietWait)
	}
	for _, n := range rr.propOrder {
		in := insts[n]
		limit := time.Duration(o.changes)*o.perChange + time.Minute
		res, err := propagate(ctx, in.a, in.sg.Proxy, fmt.Sprintf("p%s-%d", o.runTag, r), o.changes, o.hosts, o.perChange, limit)
		in.routes += len(res.changes)
		if err != nil {
			return rr, fmt.Errorf("propagation with %d routes: %w", n, err)
		}
		rr.prop[n] = res
		benchkit.Logf("round %d: propagation, %d routes: answer→200 p50 %.2f ms p99 %.2f ms; sent→200 p50 %.2f ms p99 %.2f ms",
			r, n, ms(res.pct(fromAnswer, 50)), ms(res.pct(fromAnswer, 99)), ms(res.pct(fromSent, 50)), ms(res.pct(fromSent, 99)))
	}
	for _, n := range o.sizes {
		if !insts[n].sg.P.Alive() {
			return rr, fmt.Errorf("stargate (%d routes) exited: %v\n%s", n, insts[n].sg.P.WaitErr(), insts[n].sg.P.Tail(2048))
		}
	}
	return rr, nil
}

func fromAnswer(c change) time.Duration { return c.fromAnswer }
func fromSent(c change) time.Duration   { return c.fromSent }
func putLat(c change) time.Duration     { return c.put }
func pollRTT(c change) time.Duration    { return c.pollRTT }

// waitQuiet samples the machine's CPU in 1 s windows until one is under
// 15% busy or limit passes; it returns the last sample.
func waitQuiet(ctx context.Context, limit time.Duration) float64 {
	deadline := time.Now().Add(limit)
	last := 0.0
	for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
		a := benchkit.ReadSysCPU()
		time.Sleep(time.Second)
		last = benchkit.BusyShare(a, benchkit.ReadSysCPU())
		if last < 0.15 {
			return last
		}
		if i == 0 {
			benchkit.Logf("machine %.0f%% busy; waiting up to %v for it to quieten", 100*last, limit)
		}
	}
	return last
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mib(b int64) float64        { return float64(b) / (1 << 20) }

// browserFields are the fields a desktop browser sends with a page load
// (about 560 bytes), one per line in browser-fields.txt, which
// bench/callgrind/run.sh -browser sends too: a real client's head costs
// both proxies more than wrk's Host alone.
var browserFields = strings.Split(strings.TrimSpace(browserFieldsText), "\n")

//go:embed browser-fields.txt
var browserFieldsText string

// The plugin-cost route: the plugins an API gateway typically runs on
// every request (authentication, a rate limit, metrics), on the 10-route
// instance, against the same upstream.
const (
	pluginHost = "plugins.bench"
	pluginPath = "/plugins-bench"
	pluginKey  = "bench-key-0123456789"
)

func setupPluginRoute(ctx context.Context, in *instance) error {
	if err := in.a.put(ctx, "/apisix/admin/consumers/bench", `{"username":"bench","plugins":{"key-auth":{"key":"`+pluginKey+`"}}}`); err != nil {
		return err
	}
	return in.a.put(ctx, "/apisix/admin/routes/plugins-bench", `{"uri":"`+pluginPath+`","hosts":["`+pluginHost+`"],"upstream_id":"u1",`+
		`"plugins":{"key-auth":{},"limit-count":{"count":1000000000,"time_window":60},"prometheus":{}}}`)
}
