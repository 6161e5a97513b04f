// Command admin benchmarks the admin API of a real `stargate serve` process
// on its two stores, side by side in one run:
//
//   - PUT /apisix/admin/routes/{id} throughput (acknowledged, durable
//     writes per second) with 1 and with N (default 32) concurrent clients;
//   - the latency of GET /apisix/admin/routes listing 10,000 routes.
//
// Each round starts a fresh stargate on the bolt store and a fresh stargate
// on a fresh etcd (default durability: every acknowledged write fsynced),
// alternating which backend goes first, and reports per-round numbers,
// medians over rounds and the bolt/etcd ratio as a markdown table.
//
//	go run ./bench/admin -rounds 3 -out /tmp/admin-bench.md
//
// It is a program, not a test: `go test ./...` never runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

type options struct {
	rounds      int
	duration    time.Duration
	puts        int
	clients     int
	routes      int
	gets        int
	seedTimeout time.Duration
	bin         string
	etcdBin     string
	dir         string
	out         string
	cpuprofile  string
	keep        bool
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; each round measures both backends, alternating which goes first")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "time bound of each PUT load loop (whichever of -puts and -duration comes first ends it)")
	flag.IntVar(&o.puts, "puts", 3000, "count bound of each PUT load loop")
	flag.IntVar(&o.clients, "clients", 32, "concurrent clients of the concurrent PUT loop and of the seeding")
	flag.IntVar(&o.routes, "routes", 10000, "routes in the store when the list is timed")
	flag.IntVar(&o.gets, "gets", 20, "timed GETs of the full route list per backend and round")
	flag.DurationVar(&o.seedTimeout, "seed-timeout", 5*time.Minute, "time bound for seeding the store up to -routes")
	flag.StringVar(&o.bin, "bin", "", "stargate binary (default: go build ./cmd/stargate from this module into a temp dir)")
	flag.StringVar(&o.etcdBin, "etcd", "etcd", "etcd server binary")
	flag.StringVar(&o.dir, "dir", "", "parent directory for the bolt and etcd data dirs, both on its filesystem (default: $TMPDIR or /tmp)")
	flag.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "profile the servers with perf (stargate, and etcd for the etcd backend) in the last round, phase by phase: FILE.<backend>.<phase> (perf.data, read with perf report -i) and FILE.<backend>.<phase>.txt (flat top); the profiled round's numbers carry perf's overhead")
	flag.BoolVar(&o.keep, "keep", false, "keep the data dirs and logs after the run")
	flag.Parse()
	if o.rounds < 1 || o.puts < 1 || o.clients < 1 || o.routes < 1 || o.gets < 1 || o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "admin bench: -rounds, -puts, -clients, -routes, -gets and -duration must be positive")
		os.Exit(2)
	}
	if 2*o.puts+2*o.clients > o.routes {
		fmt.Fprintf(os.Stderr, "admin bench: -routes (%d) must be at least 2*(-puts + -clients) = %d: the list is timed after the PUT loops, on their routes plus seeded ones\n", o.routes, 2*(o.puts+o.clients))
		os.Exit(2)
	}
	benchkit.Main("admin bench", func(ctx context.Context) error { return run(ctx, o) })
}

func run(ctx context.Context, o options) (err error) {
	work, release, err := benchkit.WorkDir(o.dir, "sg-admin-bench-")
	if err != nil {
		return err
	}
	defer func() { release(o.keep || err != nil) }()

	bin, err := benchkit.StargateBinary(ctx, o.bin, work)
	if err != nil {
		return err
	}
	m, err := describeMachine(ctx, work, bin, o.etcdBin)
	if err != nil {
		return err
	}
	benchkit.Logf("machine: %s", m.oneLine())

	var results []roundResult
	for r := 1; r <= o.rounds; r++ {
		rr, err := runRound(ctx, o, work, bin, r)
		if err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		results = append(results, rr)
	}

	return benchkit.WriteReport(o.out, func(w io.Writer) { report(w, o, m, results) })
}

// runRound starts a fresh bolt backend and a fresh etcd backend and runs
// every phase on both, one backend at a time, alternating which goes first
// phase by phase (ABBA across rounds too), so both see the same machine and
// disk weather within seconds of each other.
func runRound(ctx context.Context, o options, work, bin string, r int) (rr roundResult, err error) {
	order := []string{"bolt", "etcd"}
	if r%2 == 0 {
		order = []string{"etcd", "bolt"}
	}
	rr = roundResult{round: r, order: order, by: map[string]*backendResult{}}
	rr.fsyncP50, rr.fsyncP99, _, err = fsyncProbe(work, 100)
	if err != nil {
		return rr, fmt.Errorf("fsync probe: %w", err)
	}
	benchkit.Logf("round %d/%d: fdatasync p50 %.2f ms p99 %.2f ms; order %v", r, o.rounds, ms(rr.fsyncP50), ms(rr.fsyncP99), order)
	ins := map[string]*instance{}
	defer func() {
		for _, in := range ins {
			if err != nil {
				in.keep = true // the logs explain the failure
			}
			if serr := in.stop(); serr != nil && err == nil {
				err = serr
			}
		}
	}()
	for _, b := range order {
		profile := ""
		if o.cpuprofile != "" && r == o.rounds {
			profile = o.cpuprofile + "." + b
		}
		in, err := startInstance(ctx, o, work, b, r, bin, profile)
		if err != nil {
			return rr, err
		}
		ins[b] = in
		rr.by[b] = in.res
	}
	phase := 0
	each := func(name string, f func(in *instance) error) error {
		seq := order
		if phase%2 == 1 {
			seq = []string{order[1], order[0]}
		}
		phase++
		for _, b := range seq {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := f(ins[b]); err != nil {
				return err
			}
		}
		return nil
	}
	cn := o.clients
	steps := []struct {
		name string
		f    func(in *instance) error
	}{
		{"warm-up", func(in *instance) error {
			// Open the connections and touch every code path once; these
			// routes count towards the list total.
			_, err := in.putPhase(ctx, "", "warm", cn, cn, time.Minute)
			if err == nil {
				_, _, _, err = in.c.listRoutes(ctx)
			}
			return err
		}},
		{"PUT, 1 client", func(in *instance) (err error) {
			in.res.put1, err = in.putPhase(ctx, "put1", "c1", 1, o.puts, o.duration)
			return err
		}},
		{fmt.Sprintf("PUT, %d clients", cn), func(in *instance) (err error) {
			in.res.putN, err = in.putPhase(ctx, fmt.Sprintf("put%d", cn), fmt.Sprintf("c%d", cn), cn, o.puts, o.duration)
			return err
		}},
		{"seeding", func(in *instance) (err error) {
			in.res.seed, err = in.putPhase(ctx, "seed", "seed", cn, o.routes-in.have, o.seedTimeout)
			return err
		}},
		{"list", func(in *instance) error { return in.listPhase(ctx, o.routes, o.gets) }},
	}
	for _, st := range steps {
		if err := each(st.name, st.f); err != nil {
			return rr, err
		}
	}
	for _, b := range order {
		ins[b].finish()
		x := ins[b].res
		benchkit.Logf("round %d %s: put1 %.0f/s  put%d %.0f/s  seed %.0f/s  list p50 %.1f ms p95 %.1f ms",
			r, b, x.put1.rate(), cn, x.putN.rate(), x.seed.rate(), ms(x.list.p50), ms(x.list.p95))
	}
	return rr, nil
}
