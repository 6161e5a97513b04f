package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

type roundResult struct {
	round              int
	order              []string
	by                 map[string]*backendResult
	fsyncP50, fsyncP99 time.Duration
}

// Goals from the issue.
const (
	goalWritesPerSec = 2000.0                // acknowledged durable writes/s, 32 clients, bolt
	goalList         = 50 * time.Millisecond // 10k-route list
)

func report(w io.Writer, o options, m machine, rounds []roundResult) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	med := func(b string, f func(*backendResult) float64) float64 {
		var xs []float64
		for _, r := range rounds {
			xs = append(xs, f(r.by[b]))
		}
		return benchkit.Median(xs)
	}
	type row struct {
		name     string
		f        func(*backendResult) float64
		unit     string
		prec     int
		goal     string
		higherOK bool
	}
	cn := o.clients
	rows := []row{
		{"PUT route, 1 client", func(r *backendResult) float64 { return r.put1.rate() }, "writes/s", 0, "", true},
		{fmt.Sprintf("PUT route, %d clients", cn), func(r *backendResult) float64 { return r.putN.rate() }, "writes/s", 0, "≥ 2,000/s on bolt", true},
		{"PUT latency p50, 1 client", func(r *backendResult) float64 { return ms(r.put1.pct(50)) }, "ms", 2, "", false},
		{"PUT latency p99, 1 client", func(r *backendResult) float64 { return ms(r.put1.pct(99)) }, "ms", 2, "", false},
		{fmt.Sprintf("PUT latency p50, %d clients", cn), func(r *backendResult) float64 { return ms(r.putN.pct(50)) }, "ms", 2, "", false},
		{fmt.Sprintf("PUT latency p99, %d clients", cn), func(r *backendResult) float64 { return ms(r.putN.pct(99)) }, "ms", 2, "", false},
		{fmt.Sprintf("stargate CPU per PUT, %d clients", cn), func(r *backendResult) float64 { return perOp(r.putN.cpu.stargate, r.putN.acked) }, "ms", 3, "", false},
		{fmt.Sprintf("etcd CPU per PUT, %d clients", cn), func(r *backendResult) float64 { return perOp(r.putN.cpu.etcd, r.putN.acked) }, "ms", 3, "", false},
		{fmt.Sprintf("load generator CPU per PUT, %d clients", cn), func(r *backendResult) float64 { return perOp(r.putN.cpu.client, r.putN.acked) }, "ms", 3, "", false},
		{fmt.Sprintf("machine CPU busy during PUT, %d clients", cn), func(r *backendResult) float64 { return 100 * r.putN.cpu.busy }, "%", 0, "", false},
		{fmt.Sprintf("seeding to %d routes, %d clients", o.routes, cn), func(r *backendResult) float64 { return r.seed.rate() }, "writes/s", 0, "", true},
		{fmt.Sprintf("GET list of %d routes, median", o.routes), func(r *backendResult) float64 { return ms(r.list.p50) }, "ms", 1, "< 50 ms", false},
		{fmt.Sprintf("GET list of %d routes, p95", o.routes), func(r *backendResult) float64 { return ms(r.list.p95) }, "ms", 1, "", false},
		{"stargate CPU per list GET", func(r *backendResult) float64 { return perOp(r.list.cpu.stargate, r.list.n) }, "ms", 1, "", false},
		{"etcd CPU per list GET", func(r *backendResult) float64 { return perOp(r.list.cpu.etcd, r.list.n) }, "ms", 1, "", false},
		{"list body", func(r *backendResult) float64 { return float64(r.list.bytes) / (1 << 20) }, "MiB", 2, "", false},
		{"stargate peak RSS", func(r *backendResult) float64 { return float64(r.rssStar) / (1 << 20) }, "MiB", 0, "", false},
	}

	p("### Results (medians of %d rounds)\n\n", len(rounds))
	p("| metric | bolt | etcd | bolt/etcd | goal |\n|---|--:|--:|--:|---|\n")
	for _, r := range rows {
		b, e := med("bolt", r.f), med("etcd", r.f)
		ratio := "–"
		if e > 0 && b > 0 {
			ratio = fmt.Sprintf("%.2f×", b/e)
		}
		p("| %s (%s) | %s | %s | %s | %s |\n", r.name, r.unit, benchkit.Num(b, r.prec), benchkit.Num(e, r.prec), ratio, r.goal)
	}
	p("\nbolt/etcd above 1 means bolt is faster for writes/s and slower for latencies.\n\n")

	bw, ew := med("bolt", rows[1].f), med("etcd", rows[1].f)
	listRow := slices.IndexFunc(rows, func(r row) bool { return strings.HasPrefix(r.name, "GET list") })
	bl, el := med("bolt", rows[listRow].f), med("etcd", rows[listRow].f)
	p("Goals:\n\n")
	p("- ≥ %s acknowledged durable writes/s with %d clients on bolt: **%s** (%.0f/s; etcd %.0f/s; APISIX via etcd manages ~30/s, apache/apisix#6826).\n",
		benchkit.Num(goalWritesPerSec, 0), cn, benchkit.Verdict(bw >= goalWritesPerSec), bw, ew)
	p("- %s-route list under %v ms: bolt **%s** (%.1f ms), etcd **%s** (%.1f ms).\n\n",
		benchkit.Num(float64(o.routes), 0), ms(goalList), benchkit.Verdict(bl < ms(goalList)), bl, benchkit.Verdict(el < ms(goalList)), el)

	p("### Per round\n\n")
	p("Backends alternate phase by phase; \"first\" is the backend that went first in the round's first phase.\n\n")
	p("| round | fdatasync p50 / p99 | backend | PUT 1 client | PUT %d clients (CPU busy, iowait) | seeding | list p50 / p95 / max | TCP dials | startup |\n|--:|--:|---|--:|--:|--:|--:|--:|--:|\n", cn)
	for _, r := range rounds {
		for i, b := range r.order {
			x := r.by[b]
			p("| %d | %.2f / %.2f ms | %s%s | %.0f/s (%d in %.1fs) | %.0f/s (%d in %.1fs; %.0f%%, %.0f%%) | %.0f/s (%d in %.1fs) | %.1f / %.1f / %.1f ms | %d | %.1fs |\n",
				r.round, ms(r.fsyncP50), ms(r.fsyncP99), b, map[bool]string{true: " (first)", false: ""}[i == 0],
				x.put1.rate(), x.put1.acked, x.put1.elapsed.Seconds(),
				x.putN.rate(), x.putN.acked, x.putN.elapsed.Seconds(), 100*x.putN.cpu.busy, 100*x.putN.cpu.iowait,
				x.seed.rate(), x.seed.acked, x.seed.elapsed.Seconds(),
				ms(x.list.p50), ms(x.list.p95), ms(x.list.max), x.dials, x.startup.Seconds())
		}
	}

	p("\n### Setup\n\n")
	p("- Command: `%s`, %s.\n", benchkit.CommandLine("go run ./bench/admin"), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	p("- Machine: %d CPUs (%s), %.0f GiB RAM, Linux %s. Client, stargate and etcd share these CPUs.\n", m.CPUs, m.CPUModel, m.MemGiB, m.Kernel)
	p("- Disk: bolt and etcd data dirs both under %s: %s on %s (%s), mounted at %s. 4 KiB append + fdatasync: p50 %.2f ms, p99 %.2f ms (%d samples).\n",
		m.dir, m.fstype, m.device, m.diskInfo, m.mount, ms(m.fsyncP50), ms(m.fsyncP99), m.fsyncN)
	p("- Versions: %s (commit %s), %s with default durability and timing, %s.\n", m.stargateVer, m.commit, m.etcdVersion, m.GoVersion)
	p("- Method: each round starts a fresh `stargate serve` on bolt and one on a fresh single-member etcd (own data dirs, same filesystem) and runs each phase on one backend, then the other, alternating which goes first from phase to phase and round to round. ")
	p("Keep-alive HTTP/1.1 clients on loopback PUT distinct routes (id and uri); only 200/201 count and any other answer aborts the run. ")
	p("Each PUT loop stops at %d acknowledged writes or %v, whichever comes first (after a %d-PUT warm-up). ", o.puts, o.duration, cn)
	p("The store is then seeded to %d routes with %d clients and `GET /apisix/admin/routes` is timed %d times, one at a time, to the last byte of the body, checking total = %d.\n",
		o.routes, cn, o.gets, o.routes)
}

func perOp(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return ms(d) / float64(n)
}
