package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

// Goals from the data-plane issue.
const (
	goalTputRatio  = 1.0                   // Stargate req/s ÷ nginx req/s
	goalScaleRatio = 0.95                  // largest-table req/s ÷ smallest-table req/s
	goalProp99     = 10 * time.Millisecond // admin answer → first request seeing the change, p99
	goalPluginCost = 0.10                  // throughput lost to key-auth + limit-count + prometheus (plugins issue)
)

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func sizeName(n int) string { return benchkit.Num(float64(n), 0) + " routes" }

func report(w io.Writer, o options, m machine, insts map[int]*instance, rounds []*roundResult) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	medT := func(k string, f func(wrkResult) float64) float64 {
		var xs []float64
		for _, r := range rounds {
			xs = append(xs, f(r.tput[k]))
		}
		return benchkit.Median(xs)
	}
	medS := func(n int, f func(wrkResult) float64) float64 {
		var xs []float64
		for _, r := range rounds {
			xs = append(xs, f(r.scale[n]))
		}
		return benchkit.Median(xs)
	}
	type wrow struct {
		name     string
		unit     string
		prec     int
		f        func(wrkResult) float64
		goal     string
		showZero bool
	}
	rps := func(x wrkResult) float64 { return x.rps }
	wrows := []wrow{
		{"requests/s", "", 0, rps, "", true},
		{"latency p50", "ms", 2, func(x wrkResult) float64 { return ms(x.p50) }, "", true},
		{"latency p99", "ms", 2, func(x wrkResult) float64 { return ms(x.p99) }, "", true},
		{"proxy CPU per request", "µs", 1, func(x wrkResult) float64 { return x.perReq(x.proxyCPU) }, "", false},
		{"upstream CPU per request", "µs", 1, func(x wrkResult) float64 { return x.perReq(x.upstreamCPU) }, "", false},
		{"wrk CPU per request", "µs", 1, func(x wrkResult) float64 { return x.perReq(x.wrkCPU) }, "", true},
		{"machine CPU busy", "%", 0, func(x wrkResult) float64 { return 100 * x.busy }, "", true},
		{"CPU of other processes", "% of machine", 0, func(x wrkResult) float64 { return 100 * x.otherShare() }, "", true},
	}
	cell := func(v float64, r wrow) string {
		if v == 0 && !r.showZero {
			return "–"
		}
		return benchkit.Num(v, r.prec)
	}
	label := func(r wrow) string {
		if r.unit == "" {
			return r.name
		}
		return fmt.Sprintf("%s (%s)", r.name, r.unit)
	}

	// 1. Throughput.
	small := o.sizes[0]
	p("### 1. Proxy throughput (medians of %d rounds)\n\n", len(rounds))
	p("`wrk -t%d -c%d -d%ds --latency`, keep-alive, a %d-byte answer from the same static nginx upstream. Stargate holds %s; the request hits `%s` with `Host: %s`.\n\n",
		o.threads, o.conns, int(o.duration/time.Second), o.bodySize, sizeName(small), routePath(small/2), routeHost(small/2, o.hosts))
	p("| metric | Stargate | nginx proxy_pass (%d workers) | Stargate/nginx |", o.nginxWorkers)
	if o.floor {
		for _, f := range floors {
			p(" %s | %s/nginx |", f.name, f.name)
		}
	}
	p(" upstream direct (reference) | goal |\n|---|--:|--:|--:|")
	if o.floor {
		for range floors {
			p("--:|--:|")
		}
	}
	p("--:|---|\n")
	for i, r := range wrows {
		s, n, u := medT("stargate", r.f), medT("nginx", r.f), medT("upstream", r.f)
		g := ""
		if i == 0 {
			g = "Stargate/nginx ≥ 1.0×"
		}
		p("| %s | %s | %s | %s |", label(r), cell(s, r), cell(n, r), ratio(s, n))
		if o.floor {
			for _, fl := range floors {
				f := medT(fl.key, r.f)
				p(" %s | %s |", cell(f, r), ratio(f, n))
			}
		}
		p(" %s | %s |\n", cell(u, r), g)
	}
	p("\nProxy CPU is the Stargate process, or the nginx master plus its workers (utime+stime from /proc, over the measured run), divided by the requests wrk completed. ")
	p("For \"upstream direct\" wrk talks to the upstream itself, so only upstream CPU applies. Every process shares the machine's %d CPUs with wrk.", m.CPUs)
	if o.floor {
		p(" The Go floor is a bare Go forwarder built like Stargate's listener without event loops (a goroutine per connection on the runtime's poller, blocking reads and writes, one kept-alive upstream connection per client connection; Stargate's TLS port, or its plain port with `event_loops: -1`) that does nothing but add X-Forwarded-For/X-Real-IP and relay Content-Length answers: no routing, no plugins, no header parsing, limits or timeouts (`bench/proxy/floor.go`). Floor vs nginx is what that runtime model costs on this host; Stargate vs floor is what Stargate's own work costs. The Go epoll floor does the same forwarding from one epoll loop per CPU, each on a locked OS thread with its own SO_REUSEPORT listener and every connection pair in the same loop, nginx's model (`bench/proxy/floor_epoll_linux.go`): what a Go proxy built around event loops could reach. Stargate's plain port runs on event loops by default, its connections' code as coroutines rather than state machines.")
	}
	p("\n\n")

	// 2. Router scale.
	p("### 2. Router scale (medians of %d rounds)\n\n", len(rounds))
	p("The same load through Stargate instances holding different numbers of routes (ids `r-NNNNNN`, uris `/r/<i>`, hosts `h<i mod %d>.bench.test`, all with `upstream_id` u1), created through the admin API with %d concurrent clients. Each request hits the route in the middle.\n\n", o.hosts, o.clients)
	p("| metric |")
	for _, n := range o.sizes {
		p(" %s |", sizeName(n))
	}
	largest := o.sizes[len(o.sizes)-1]
	p(" %s ÷ %s | goal |\n|---|", benchkit.Num(float64(largest), 0), benchkit.Num(float64(small), 0))
	for range o.sizes {
		p("--:|")
	}
	p("--:|---|\n")
	for i, r := range wrows {
		if r.name == "upstream CPU per request" {
			continue
		}
		p("| %s |", strings.Replace(label(r), "proxy CPU", "Stargate CPU", 1))
		for _, n := range o.sizes {
			p(" %s |", cell(medS(n, r.f), r))
		}
		g := ""
		if i == 0 {
			g = fmt.Sprintf("≥ %.2f×", goalScaleRatio)
		}
		p(" %s | %s |\n", ratio(medS(largest, r.f), medS(small, r.f)), g)
	}
	type irow struct {
		name string
		prec int
		f    func(in *instance, s memSample) (float64, bool)
	}
	always := func(f func(*instance, memSample) float64) func(*instance, memSample) (float64, bool) {
		return func(in *instance, s memSample) (float64, bool) { return f(in, s), true }
	}
	big := func(f func(*instance, memSample) float64) func(*instance, memSample) (float64, bool) {
		return func(in *instance, s memSample) (float64, bool) { return f(in, s), in.size >= 1000 }
	}
	fresh := func(f func(*instance, memSample) float64) func(*instance, memSample) (float64, bool) {
		return func(in *instance, s memSample) (float64, bool) {
			if in.cached || in.size < 1000 {
				return 0, false
			}
			return f(in, s), true
		}
	}
	// overSmall is the memory each extra route costs, comparing an
	// instance with the smallest one at the same moment.
	overSmall := func(get func(memSample) float64) func(*instance, memSample) (float64, bool) {
		return func(in *instance, s memSample) (float64, bool) {
			if in.size == small || in.size < 1000 {
				return 0, false
			}
			var xs []float64
			for _, r := range rounds {
				if d := r.mem[in.size].routes - r.mem[small].routes; d > 0 {
					xs = append(xs, (get(r.mem[in.size])-get(r.mem[small]))/float64(d))
				}
			}
			return benchkit.Median(xs), len(xs) > 0
		}
	}
	irows := []irow{
		{"route creation, " + fmt.Sprint(o.clients) + " clients, overall (routes/s)", 0, always(func(in *instance, _ memSample) float64 { return in.seed.rate() })},
		{"route creation, first tenth (routes/s)", 0, big(func(in *instance, _ memSample) float64 { return in.seed.tenthRate(0) })},
		{"route creation, last tenth (routes/s)", 0, big(func(in *instance, _ memSample) float64 { return in.seed.tenthRate(9) })},
		{"time to create the routes (s)", 1, always(func(in *instance, _ memSample) float64 { return in.seed.elapsed.Seconds() })},
		{"RSS before the routes (MiB)", 1, func(in *instance, _ memSample) (float64, bool) { return mib(in.memBefore.RSS), !in.cached }},
		{"RSS with the routes, after load (MiB)", 1, always(func(_ *instance, s memSample) float64 { return mib(s.mem.RSS) })},
		{"anonymous RSS with the routes (MiB)", 1, always(func(_ *instance, s memSample) float64 { return mib(s.mem.RSSAnon) })},
		{"file-backed RSS with the routes (MiB; bolt mmap, binary)", 1, always(func(_ *instance, s memSample) float64 { return mib(s.mem.RSSFile) })},
		{"Go heap in use with the routes (MiB)", 1, always(func(_ *instance, s memSample) float64 { return s.heap / (1 << 20) })},
		{"anonymous RSS growth since before the routes, per route (bytes)", 0, fresh(func(in *instance, s memSample) float64 {
			return float64(s.mem.RSSAnon-in.memBefore.RSSAnon) / float64(s.routes)
		})},
		{"Go heap growth since before the routes, per route (bytes)", 0, fresh(func(in *instance, s memSample) float64 { return (s.heap - in.heapBefore) / float64(s.routes) })},
		{"anonymous RSS per route over the " + benchkit.Num(float64(small), 0) + "-route instance (bytes)", 0, overSmall(func(s memSample) float64 { return float64(s.mem.RSSAnon) })},
		{"Go heap per route over the " + benchkit.Num(float64(small), 0) + "-route instance (bytes)", 0, overSmall(func(s memSample) float64 { return s.heap })},
		{"bolt file with the routes (MiB)", 1, always(func(in *instance, _ memSample) float64 { return mib(in.dbBytes) })},
	}
	for _, r := range irows {
		p("| %s |", r.name)
		var first, last float64
		okAll := true
		for i, n := range o.sizes {
			var xs []float64
			ok := false
			for _, rd := range rounds {
				v, k := r.f(insts[n], rd.mem[n])
				if k {
					xs = append(xs, v)
					ok = true
				}
			}
			if !ok {
				p(" – |")
				okAll = false
				continue
			}
			v := benchkit.Median(xs)
			if i == 0 {
				first = v
			}
			last = v
			p(" %s |", benchkit.Num(v, r.prec))
		}
		rt := "–"
		if okAll {
			rt = ratio(last, first)
		}
		p(" %s | |\n", rt)
	}
	for _, n := range o.sizes {
		if insts[n].cached {
			p("\nThe %s were copied from the routes cache (`-routes-cache`). They were %s through the admin API, and the creation rows are that run's.\n", sizeName(n), insts[n].cacheNote)
		}
	}
	p("\nMemory is read from /proc/PID/status (VmRSS, RssAnon, RssFile) and `go_memstats_heap_inuse_bytes` on /metrics: \"before\" after start and the upstream object, \"with the routes\" at the end of each round's load runs (medians over rounds; later rounds also hold the routes earlier propagation phases added, which the per-route figures count). Per-route figures are shown from 1,000 routes up: growth since before the routes were created (only when this run created them), and the difference to the smallest instance at the same moment divided by the difference in routes. The Go heap includes garbage not yet collected.\n\n")

	// 3. Propagation.
	pooled := func(n int) propResult {
		var all propResult
		for _, r := range rounds {
			all.changes = append(all.changes, r.prop[n].changes...)
		}
		return all
	}
	p("### 3. Propagation (%d changes per size and round, pooled over %d rounds)\n\n", o.changes, len(rounds))
	p("Each change creates a new route (`/p/...`, `upstream_id` u1, one of the %d hosts) with one `PUT /apisix/admin/routes/{id}`. A poller on its own keep-alive connection GETs that uri through the proxy back to back (404 first, required) until the first 200. ", o.hosts)
	p("The admin API answers a write only once the local data plane serves it, so \"admin answer → first 200\" is bounded by one poll; \"PUT sent → first 200\" is the whole write path (validation, bolt commit with fsync, compile, swap).\n\n")
	p("| metric |")
	for _, n := range o.sizes {
		p(" %s |", sizeName(n))
	}
	p(" goal |\n|---|")
	for range o.sizes {
		p("--:|")
	}
	p("---|\n")
	type prow struct {
		name string
		f    func(propResult) string
		goal string
	}
	dur := func(f func(change) time.Duration, pc float64) func(propResult) string {
		return func(r propResult) string { return fmt.Sprintf("%.2f", ms(r.pct(f, pc))) }
	}
	prows := []prow{
		{"admin answer → first 200, p50 (ms)", dur(fromAnswer, 50), ""},
		{"admin answer → first 200, p99 (ms)", dur(fromAnswer, 99), "< 10 ms"},
		{"admin answer → first 200, max (ms)", dur(fromAnswer, 100), ""},
		{"200 read before the admin answer was (changes)", func(r propResult) string { return fmt.Sprintf("%d of %d", r.beforeAnswer(), len(r.changes)) }, ""},
		{"not visible within -change-timeout (changes, recorded at the bound)", func(r propResult) string { return fmt.Sprintf("%d of %d", r.timeouts(), len(r.changes)) }, ""},
		{"404 to a poll sent after the admin answer (changes)", func(r propResult) string { return fmt.Sprintf("%d of %d", r.staleChanges(), len(r.changes)) }, "0"},
		{"PUT sent → first 200, p50 (ms)", dur(fromSent, 50), ""},
		{"PUT sent → first 200, p99 (ms)", dur(fromSent, 99), ""},
		{"PUT sent → first 200, max (ms)", dur(fromSent, 100), ""},
		{"PUT sent → admin answer, p50 (ms)", dur(putLat, 50), ""},
		{"PUT sent → admin answer, p99 (ms)", dur(putLat, 99), ""},
		{"poll round trip, p50 (ms)", dur(pollRTT, 50), ""},
		{"poll round trip, max (ms)", dur(pollRTT, 100), ""},
	}
	for _, r := range prows {
		p("| %s |", r.name)
		for _, n := range o.sizes {
			p(" %s |", r.f(pooled(n)))
		}
		p(" %s |\n", r.goal)
	}
	p("\nA negative \"admin answer → first 200\" means the poller read the 200 before the benchmark had read the admin API's answer. ")
	p("A 404 to a poll sent after the answer had been read means the answer came before the data plane served the route; without such polls, a long \"admin answer → first 200\" is the poller itself being slow (descheduled on a busy machine), which the poll round trip shows.\n\n")

	// Goals. Each verdict is on the medians over rounds; under it, the
	// same ratio within each round (the servers ran minutes apart at
	// most), which drifts of the host's speed between rounds distort less.
	perRound := func(a, b func(r *roundResult) float64) string {
		var xs []float64
		var parts []string
		for _, r := range rounds {
			x, y := a(r), b(r)
			if x <= 0 || y <= 0 {
				continue
			}
			xs = append(xs, x/y)
			parts = append(parts, fmt.Sprintf("%.2f", x/y))
		}
		if len(xs) == 0 {
			return ""
		}
		return fmt.Sprintf("  - Within each round: %s; median %.2f×.\n", strings.Join(parts, ", "), benchkit.Median(xs))
	}
	tputOf := func(k string) func(r *roundResult) float64 {
		return func(r *roundResult) float64 { return r.tput[k].rps }
	}
	sr, nr := medT("stargate", rps), medT("nginx", rps)
	names := map[string]string{"stargate": "Stargate (" + sizeName(small) + ")", "nginx": "nginx proxy_pass", "upstream": "upstream direct",
		"plugins": "Stargate + key-auth, limit-count, prometheus", "stargate-browser": "Stargate, browser fields",
		"nginx-browser": "nginx proxy_pass, browser fields", "floor": "Go floor (bare forwarder)", "epoll": "Go epoll floor (bare forwarder)"}
	p("### Goals\n\n")
	p("- Proxy throughput ≥ %.1f× nginx: **%s** (Stargate %s req/s, nginx %s req/s: %s; CPU per request %.1f µs vs %.1f µs).\n",
		goalTputRatio, benchkit.Verdict(nr > 0 && sr/nr >= goalTputRatio), benchkit.Num(sr, 0), benchkit.Num(nr, 0), ratio(sr, nr),
		medT("stargate", wrows[3].f), medT("nginx", wrows[3].f))
	p("%s", perRound(tputOf("stargate"), tputOf("nginx")))
	if o.floor {
		for _, f := range floors {
			fr := medT(f.key, rps)
			p("  - For reference, the %s: %s req/s, %s nginx; Stargate is %s of it (CPU per request %.1f µs).\n",
				f.name, benchkit.Num(fr, 0), ratio(fr, nr), ratio(sr, fr), medT(f.key, wrows[3].f))
		}
	}
	if o.browser {
		sb, nb := medT("stargate-browser", rps), medT("nginx-browser", rps)
		p("- For reference, with the %d fields a browser sends on every request (`-browser`; wrk alone sends Host): Stargate %s req/s, nginx %s req/s: %s (CPU per request %.1f µs vs %.1f µs).\n",
			len(browserFields), benchkit.Num(sb, 0), benchkit.Num(nb, 0), ratio(sb, nb), medT("stargate-browser", wrows[3].f), medT("nginx-browser", wrows[3].f))
		p("%s", perRound(tputOf("stargate-browser"), tputOf("nginx-browser")))
	}
	if o.plugins {
		pr := medT("plugins", rps)
		cost := 0.0
		if sr > 0 {
			cost = 1 - pr/sr
		}
		p("- Plugin cost (key-auth + limit-count + prometheus on the route) ≤ %.0f%%: **%s** (%s req/s with them, %s without: %.1f%% fewer; CPU per request %.1f µs vs %.1f µs).\n",
			100*goalPluginCost, benchkit.Verdict(sr > 0 && cost <= goalPluginCost), benchkit.Num(pr, 0), benchkit.Num(sr, 0), 100*cost,
			medT("plugins", wrows[3].f), medT("stargate", wrows[3].f))
		p("%s", strings.Replace(perRound(tputOf("plugins"), tputOf("stargate")), "Within each round:", "Within each round, with ÷ without:", 1))
	}
	ls, ss := medS(largest, rps), medS(small, rps)
	p("- %s-route throughput ≥ %.2f× the %s-route figure: **%s** (%s vs %s req/s: %s).\n",
		benchkit.Num(float64(largest), 0), goalScaleRatio, benchkit.Num(float64(small), 0), benchkit.Verdict(ss > 0 && ls/ss >= goalScaleRatio), benchkit.Num(ls, 0), benchkit.Num(ss, 0), ratio(ls, ss))
	if largest != small {
		p("%s", perRound(func(r *roundResult) float64 { return r.scale[largest].rps }, func(r *roundResult) float64 { return r.scale[small].rps }))
	}
	for _, n := range []int{small, largest} {
		pr := pooled(n)
		p99 := pr.pct(fromAnswer, 99)
		p("- Propagation p99 < %v with %s: **%s** (admin answer → first 200: p99 %.2f ms; PUT sent → first 200: p99 %.2f ms).\n",
			goalProp99, sizeName(n), benchkit.Verdict(p99 < goalProp99), ms(p99), ms(pr.pct(fromSent, 99)))
		if small == largest {
			break
		}
	}
	st := stalledRuns(rounds, names)
	if st.Stalled > 0 {
		p("- The machine stopped during %d of %d measured runs (see Method): %s; %d of them were measured again.\n", st.Stalled, st.Measured, st.PerServer(), st.Retried)
	}
	p("\n")

	// Per round.
	p("### Per round\n\n")
	p("| round | phase | order | server | req/s | p99 (ms) | server CPU (µs/req) | machine busy before | machine busy | other processes | host stalls (runs measured again) |\n|--:|---|--:|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rounds {
		for i, k := range r.tputOrder {
			x := r.tput[k]
			cpu := x.perReq(x.proxyCPU)
			if k == "upstream" {
				cpu = x.perReq(x.upstreamCPU)
			}
			p("| %d | throughput | %d | %s | %s | %.2f | %.1f | %.0f%% | %.0f%% | %.0f%% | %s |\n", r.round, i+1, names[k], benchkit.Num(x.rps, 0), ms(x.p99), cpu, 100*x.quietBusy, 100*x.busy, 100*x.otherShare(), stallCell(x))
		}
		for i, n := range r.scaleOrder {
			x := r.scale[n]
			p("| %d | router scale | %d | Stargate (%s) | %s | %.2f | %.1f | %.0f%% | %.0f%% | %.0f%% | %s |\n", r.round, i+1, sizeName(n), benchkit.Num(x.rps, 0), ms(x.p99), x.perReq(x.proxyCPU), 100*x.quietBusy, 100*x.busy, 100*x.otherShare(), stallCell(x))
		}
	}
	p("\n| round | routes | routes present | answer → 200 p50 / p99 / max (ms) | sent → 200 p50 / p99 (ms) | PUT p50 / p99 (ms) | stale 404s | machine busy before the phase |\n|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rounds {
		for _, n := range r.propOrder {
			x := r.prop[n]
			p("| %d | %s | %s | %.2f / %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %d | %.0f%% |\n", r.round, benchkit.Num(float64(n), 0), benchkit.Num(float64(r.mem[n].routes), 0),
				ms(x.pct(fromAnswer, 50)), ms(x.pct(fromAnswer, 99)), ms(x.pct(fromAnswer, 100)),
				ms(x.pct(fromSent, 50)), ms(x.pct(fromSent, 99)), ms(x.pct(putLat, 50)), ms(x.pct(putLat, 99)), x.staleChanges(), 100*r.quietBusy)
		}
	}

	p("\n### Setup\n\n")
	p("- Command: `%s`, %s.\n", benchkit.CommandLine("go run ./bench/proxy"), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	p("- Machine: %d CPUs (%s), %.0f GiB RAM, Linux %s. wrk, the proxies, the upstream and the benchmark share these CPUs; everything is on loopback.\n", m.CPUs, m.CPUModel, m.MemGiB, m.Kernel)
	p("- Versions: %s (commit %s, bolt store, %d event loops, GOMAXPROCS = %d: one P per loop and one for the rest), %s, %s, %s.\n", m.stargateVer, m.commit, m.CPUs, m.CPUs+1, m.nginxVersion, m.wrkVersion, m.GoVersion)
	p("- Upstream: one nginx, `worker_processes %d`, `return 200` with a %d-byte body, access log off. nginx proxy: `worker_processes %d`, `listen ... reuseport`, `upstream { keepalive 64; }`, `proxy_http_version 1.1`, `proxy_set_header Connection \"\"`, plus Host/X-Forwarded-For/-Proto/-Host/X-Real-IP like Stargate; `keepalive_requests 1000000` on both nginx sides (Stargate never closes a keep-alive connection after N requests), access log off. Stargate: `stargate serve --store bolt --log-level info` (nothing logged per request), upstream object with default keepalive pool (320).\n",
		o.upstreamWorkers, o.bodySize, o.nginxWorkers)
	p("- Method: the benchmark starts one Stargate per route count and creates its routes once, before the rounds (creating 100,000 routes takes minutes); nginx too runs for the whole benchmark. Every measured wrk run is preceded by a %v warm-up run against the same server and by one checked GET (200, %d bytes); any non-2xx answer or socket error in wrk aborts the run. ", o.warmup, o.bodySize)
	p("The servers take turns, the order rotating from round to round. Before each measured run (and each propagation phase) the benchmark waits up to %v for a second in which the machine is under 15%% busy (\"machine busy before\": the last second sampled), and it reports the CPU other processes used during each run. ", o.quietWait)
	p("A thread of the benchmark sleeps 1 ms at a time during each measured run; when it wakes more than %v late the whole machine has stopped (on a VM, its host paused the CPUs: nginx too then shows a p99 of 45-110 ms). \"host stalls\" counts them per run; with -stall-retries (here %d) such a run is measured again, and the count in brackets is how many were (%d of %d runs here).\n",
		benchkit.StallThreshold, o.stallRetries, st.Retried, st.Measured)
}

// stallCell is a run's host stalls and how many runs before it were
// discarded for theirs.
func stallCell(x wrkResult) string {
	if x.retried == 0 {
		return strconv.Itoa(x.stalls.Count)
	}
	return fmt.Sprintf("%d (%d)", x.stalls.Count, x.retried)
}

// stalledRuns tallies the measured runs during which the machine
// stopped, per server by name.
func stalledRuns(rounds []*roundResult, names map[string]string) benchkit.StallTally {
	var t benchkit.StallTally
	for _, r := range rounds {
		for k, x := range r.tput {
			t.Add(names[k], x.stalls, x.retried)
		}
		for n, x := range r.scale {
			t.Add("Stargate ("+sizeName(n)+", router scale)", x.stalls, x.retried)
		}
	}
	return t
}
