// Command dns benchmarks Stargate's authoritative DNS against NSD and Knot
// DNS serving the same zone on loopback, with dnsperf, in one run:
//
//   - one zone (bench.test) of -names hosts with A, AAAA, MX, TXT and
//     CNAME records, loaded into each server (NSD and Knot from a zone
//     file, Stargate through its admin API import);
//   - one query file mixing hits of each type, CNAMEs and NXDOMAINs;
//   - every server gets the same thread count (-threads: NSD
//     server-count, Knot udp-workers, Stargate GOMAXPROCS);
//   - rounds alternate the order of the servers; each run reports queries
//     per second (dnsperf) and server CPU per query (utime+stime of the
//     server's processes from /proc, divided by the answered queries).
//
// The report is a markdown table of medians with the ratio to NSD (the
// goal is at least 1.0× NSD's queries per second).
//
//	go run ./bench/dns -rounds 5 -duration 10s -out /tmp/dns-bench.md
//
// It needs dnsperf, nsd and knot (Debian packages). It is a program, not a
// test: `go test ./...` never runs it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
	"github.com/stargate-edge/stargate/internal/testutil/childproc"
)

type options struct {
	rounds      int
	duration    time.Duration
	threads     int
	clients     int
	outstanding int
	names       int
	queries     int
	bin         string
	dir         string
	out         string
	keep        bool
	only        string
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 5, "rounds; each round runs every server once, in a rotating order")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "dnsperf run length per server per round")
	flag.IntVar(&o.threads, "threads", 1, "server threads: NSD server-count, Knot udp-workers, Stargate GOMAXPROCS")
	flag.IntVar(&o.clients, "clients", 8, "dnsperf -c (client sockets)")
	flag.IntVar(&o.outstanding, "outstanding", 200, "dnsperf -q (queries in flight)")
	flag.IntVar(&o.names, "names", 1000, "hosts in the zone")
	flag.IntVar(&o.queries, "queries", 20000, "lines in the query file (dnsperf loops over it)")
	flag.StringVar(&o.bin, "bin", "", "stargate binary (default: go build ./cmd/stargate)")
	flag.StringVar(&o.dir, "dir", "", "work directory (default: a temp dir)")
	flag.StringVar(&o.out, "out", "", "also write the markdown report here")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.StringVar(&o.only, "only", "", "comma list of servers to run (stargate,nsd,knot)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/dns:", err)
		os.Exit(1)
	}
}

// server is one DNS server under test.
type server struct {
	name string
	port int
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

type result struct {
	qps       float64
	completed int64
	lost      int64
	cpuSec    float64
}

func (r result) usPerQuery() float64 {
	if r.completed == 0 {
		return 0
	}
	return r.cpuSec / float64(r.completed) * 1e6
}

func run(ctx context.Context, o options) error {
	for _, tool := range []string{"dnsperf"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not installed (apt-get install dnsperf nsd knot)", tool)
		}
	}
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "dns-bench-")
		if err != nil {
			return err
		}
		dir = d
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	if o.bin == "" {
		o.bin = filepath.Join(dir, "stargate")
		fmt.Fprintln(os.Stderr, "building ./cmd/stargate")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", o.bin, "./cmd/stargate")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	zoneFile := filepath.Join(dir, "bench.test.zone")
	queryFile := filepath.Join(dir, "queries.txt")
	if err := writeZone(zoneFile, o.names); err != nil {
		return err
	}
	if err := writeQueries(queryFile, o.names, o.queries); err != nil {
		return err
	}
	want := map[string]bool{"stargate": true, "nsd": true, "knot": true}
	if o.only != "" {
		want = map[string]bool{}
		for _, n := range strings.Split(o.only, ",") {
			want[strings.TrimSpace(n)] = true
		}
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	start := map[string]func(context.Context, string, string, int) (*server, error){
		"stargate": func(ctx context.Context, dir, zone string, threads int) (*server, error) {
			return startStargate(ctx, o.bin, dir, zone, threads)
		},
		"nsd":  startNSD,
		"knot": startKnot,
	}
	for _, name := range []string{"stargate", "nsd", "knot"} {
		if !want[name] {
			continue
		}
		sdir := filepath.Join(dir, name)
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return err
		}
		s, err := start[name](ctx, sdir, zoneFile, o.threads)
		if err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		servers = append(servers, s)
		if err := s.waitAnswer(ctx, 20*time.Second); err != nil {
			return fmt.Errorf("%s: %w\n%s", name, err, s.log.String())
		}
		fmt.Fprintf(os.Stderr, "%s answering on 127.0.0.1:%d (pid %d)\n", name, s.port, s.cmd.Process.Pid)
	}
	results := map[string][]result{}
	for round := range o.rounds {
		order := slices.Clone(servers)
		for range round % len(order) {
			order = append(order[1:], order[0])
		}
		for _, s := range order {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r, err := s.measure(ctx, queryFile, o)
			if err != nil {
				return fmt.Errorf("%s round %d: %w", s.name, round+1, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-8s %9.0f q/s  %6.2f µs CPU/query  lost %d\n", round+1, s.name, r.qps, r.usPerQuery(), r.lost)
			results[s.name] = append(results[s.name], r)
		}
	}
	report := renderReport(o, servers, results)
	fmt.Print(report)
	if o.out != "" {
		return os.WriteFile(o.out, []byte(report), 0o644)
	}
	return nil
}

// writeZone writes the benchmark zone.
func writeZone(path string, names int) error {
	var b strings.Builder
	b.WriteString("$ORIGIN bench.test.\n$TTL 3600\n")
	b.WriteString("@ IN SOA ns1.bench.test. hostmaster.bench.test. 2026010100 3600 600 1209600 300\n")
	b.WriteString("@ IN NS ns1.bench.test.\n@ IN NS ns2.bench.test.\n")
	b.WriteString("ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n")
	b.WriteString("@ IN MX 10 mail.bench.test.\nmail IN A 192.0.2.25\n")
	b.WriteString("@ IN TXT \"v=spf1 mx -all\"\n")
	for i := range names {
		fmt.Fprintf(&b, "host%d IN A 10.%d.%d.%d\n", i, i/65536%256, i/256%256, i%256)
		if i%4 == 0 {
			fmt.Fprintf(&b, "host%d IN AAAA 2001:db8::%x\n", i, i)
		}
		if i%10 == 0 {
			fmt.Fprintf(&b, "alias%d IN CNAME host%d.bench.test.\n", i, i)
		}
		if i%20 == 0 {
			fmt.Fprintf(&b, "host%d IN TXT \"record %d of the benchmark zone\"\n", i, i)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// writeQueries writes a fixed mix: 60% A hits, 10% AAAA (half NODATA),
// 10% CNAME → A, 5% MX, 5% TXT, 10% NXDOMAIN.
func writeQueries(path string, names, n int) error {
	rng := rand.New(rand.NewPCG(42, 7))
	var b strings.Builder
	for range n {
		i := rng.IntN(names)
		switch p := rng.IntN(100); {
		case p < 60:
			fmt.Fprintf(&b, "host%d.bench.test A\n", i)
		case p < 70:
			fmt.Fprintf(&b, "host%d.bench.test AAAA\n", i)
		case p < 80:
			fmt.Fprintf(&b, "alias%d.bench.test A\n", i/10*10)
		case p < 85:
			b.WriteString("bench.test MX\n")
		case p < 90:
			fmt.Fprintf(&b, "host%d.bench.test TXT\n", i/20*20)
		default:
			fmt.Fprintf(&b, "nx%d.bench.test A\n", i)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		_ = l.Close()
		if err == nil {
			_ = u.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port")
}

func launch(name, bin string, args, env []string) (*server, error) {
	s := &server{name: name, log: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = childproc.Attr()
	s.cmd.SysProcAttr.Setpgid = true
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	// The server's own process group (NSD forks its workers).
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func startNSD(_ context.Context, dir, zone string, threads int) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`server:
  ip-address: 127.0.0.1@%d
  server-count: %d
  username: ""
  zonesdir: %q
  database: ""
  pidfile: %q
  xfrdfile: %q
  zonelistfile: %q
  logfile: %q
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  minimal-responses: yes
  refuse-any: yes
remote-control:
  control-enable: no
zone:
  name: bench.test
  zonefile: %q
`, port, threads, dir, filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "xfrd.state"), filepath.Join(dir, "zone.list"), filepath.Join(dir, "nsd.log"), zone)
	cf := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	bin, err := lookTool("nsd")
	if err != nil {
		return nil, err
	}
	s, err := launch("nsd", bin, []string{"-d", "-c", cf}, nil)
	if err != nil {
		return nil, err
	}
	s.port = port
	return s, nil
}

func startKnot(_ context.Context, dir, zone string, threads int) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`server:
    listen: 127.0.0.1@%d
    rundir: %q
    udp-workers: %d
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: %q
template:
  - id: default
    storage: %q
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: bench.test
    file: %q
`, port, dir, threads, dir, dir, zone)
	cf := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	bin, err := lookTool("knotd")
	if err != nil {
		return nil, err
	}
	s, err := launch("knot", bin, []string{"-c", cf}, nil)
	if err != nil {
		return nil, err
	}
	s.port = port
	return s, nil
}

var adminRE = regexp.MustCompile(`msg="admin API listening" addr=(\S+)`)

func startStargate(ctx context.Context, bin, dir, zone string, threads int) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	const key = "bench-key"
	s, err := launch("stargate", bin, []string{"serve", "--data-dir", filepath.Join(dir, "data"), "--admin-listen", "127.0.0.1:0",
		"--dns-listen", fmt.Sprintf("127.0.0.1:%d", port), "--http-listen", "127.0.0.1:0", "--https-listen", "127.0.0.1:0",
		"--admin-key", key}, []string{"GOMAXPROCS=" + strconv.Itoa(threads)})
	if err != nil {
		return nil, err
	}
	s.port = port
	var admin string
	deadline := time.Now().Add(20 * time.Second)
	for admin == "" && time.Now().Before(deadline) {
		if m := adminRE.FindStringSubmatch(s.log.String()); m != nil {
			admin = m[1]
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if admin == "" {
		return s, fmt.Errorf("admin address not found\n%s", s.log.String())
	}
	base := "http://" + admin + "/api/stargate/v1"
	do := func(method, path, body string) error {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		req.Header.Set("X-API-KEY", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return nil
	}
	for {
		if err := do("GET", "/dns/zones", ""); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return s, errors.New("admin API not up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	text, err := os.ReadFile(zone)
	if err != nil {
		return s, err
	}
	if err := do("POST", "/dns/zones", `{"zone":"bench.test","nameservers":["ns1.bench.test","ns2.bench.test"]}`); err != nil {
		return s, err
	}
	if err := do("POST", "/dns/zones/bench.test/import?mode=replace", string(text)); err != nil {
		return s, err
	}
	return s, nil
}

func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not installed (apt-get install nsd knot)", name)
}

// waitAnswer waits until the server answers the zone's SOA.
func (s *server) waitAnswer(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	m := new(dns.Msg)
	m.SetQuestion("host1.bench.test.", dns.TypeA)
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	for {
		r, _, err := c.ExchangeContext(ctx, m, fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer for host1.bench.test A within %v (last: %v %v)", d, r, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	qpsRE       = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	completedRE = regexp.MustCompile(`Queries completed:\s+(\d+)`)
	lostRE      = regexp.MustCompile(`Queries lost:\s+(\d+)`)
	versionRE   = regexp.MustCompile(`Version (\S+)`)
	// dnsperfVersion is read from dnsperf's own output.
	dnsperfVersion = "unknown"
)

func (s *server) measure(ctx context.Context, queries string, o options) (result, error) {
	before, err := treeCPU(s.cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, o.duration+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, "dnsperf", "-s", "127.0.0.1", "-p", strconv.Itoa(s.port), "-d", queries,
		"-l", strconv.Itoa(int(o.duration.Seconds())), "-c", strconv.Itoa(o.clients), "-q", strconv.Itoa(o.outstanding), "-T", "1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("dnsperf: %v\n%s", err, out)
	}
	after, err := treeCPU(s.cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	var r result
	m := qpsRE.FindSubmatch(out)
	c := completedRE.FindSubmatch(out)
	l := lostRE.FindSubmatch(out)
	if m == nil || c == nil || l == nil {
		return result{}, fmt.Errorf("dnsperf output not understood:\n%s", out)
	}
	r.qps, _ = strconv.ParseFloat(string(m[1]), 64)
	r.completed, _ = strconv.ParseInt(string(c[1]), 10, 64)
	r.lost, _ = strconv.ParseInt(string(l[1]), 10, 64)
	r.cpuSec = after - before
	if v := versionRE.FindSubmatch(out); v != nil {
		dnsperfVersion = string(v[1])
	}
	return r, nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTicks = 100

// treeCPU sums utime+stime (seconds) of pid and its descendants.
func treeCPU(root int) (float64, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	type st struct {
		ppid  int
		ticks int64
	}
	procs := map[int]st{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces) start after ")".
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		stt, _ := strconv.ParseInt(f[12], 10, 64)
		procs[pid] = st{ppid, ut + stt}
	}
	var total int64
	for pid, p := range procs {
		for q := pid; q > 1; q = procs[q].ppid {
			if q == root {
				total += p.ticks
				break
			}
			if _, ok := procs[q]; !ok {
				break
			}
		}
	}
	return float64(total) / clockTicks, nil
}

func version(args ...string) string {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func machine() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%d CPUs (%s), %s, load average at the end %s", runtime.NumCPU(), model, runtime.GOOS+"/"+runtime.GOARCH, load)
}

func renderReport(o options, servers []*server, results map[string][]result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Authoritative DNS: Stargate vs NSD vs Knot (dnsperf, loopback)\n\n")
	fmt.Fprintf(&b, "Command: `go run ./bench/dns %s`\n\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&b, "Machine: %s. Tools: %s; %s; %s; dnsperf %s.\n\n", machine(), version("nsd", "-v"), version("knotd", "--version"), runtime.Version(), dnsperfVersion)
	fmt.Fprintf(&b, "Setup: zone bench.test with %d hosts (A, AAAA, CNAME, TXT, MX); query mix 60%% A, 10%% AAAA, 10%% CNAME→A, 5%% MX, 5%% TXT, 10%% NXDOMAIN; "+
		"%d server thread(s) each (NSD server-count, Knot udp-workers, Stargate GOMAXPROCS); dnsperf -c %d -q %d -T 1, %v per run, %d rounds in rotating order. "+
		"CPU per query = server utime+stime over the run (all its processes) / answered queries.\n\n", o.names, o.threads, o.clients, o.outstanding, o.duration, o.rounds)
	b.WriteString("| round |")
	for _, s := range servers {
		fmt.Fprintf(&b, " %s q/s | %s µs CPU/q |", s.name, s.name)
	}
	b.WriteString("\n|---|")
	for range servers {
		b.WriteString("---:|---:|")
	}
	b.WriteString("\n")
	for i := range o.rounds {
		fmt.Fprintf(&b, "| %d |", i+1)
		for _, s := range servers {
			rs := results[s.name]
			if i < len(rs) {
				fmt.Fprintf(&b, " %.0f | %.2f |", rs[i].qps, rs[i].usPerQuery())
			} else {
				b.WriteString(" | |")
			}
		}
		b.WriteString("\n")
	}
	nsdQPS := benchkit.Median(qpsOf(results["nsd"]))
	b.WriteString("\n| server (median of rounds) | queries/s | µs server CPU/query | lost | q/s vs NSD |\n|---|---:|---:|---:|---:|\n")
	for _, s := range servers {
		rs := results[s.name]
		q := benchkit.Median(qpsOf(rs))
		var cpu []float64
		var lost int64
		for _, r := range rs {
			cpu = append(cpu, r.usPerQuery())
			lost += r.lost
		}
		ratio := "–"
		if nsdQPS > 0 {
			ratio = fmt.Sprintf("%.2f×", q/nsdQPS)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %d | %s |\n", s.name, q, benchkit.Median(cpu), lost, ratio)
	}
	if nsdQPS > 0 && len(results["stargate"]) > 0 {
		r := benchkit.Median(qpsOf(results["stargate"])) / nsdQPS
		verdict := "met"
		if r < 1.0 {
			verdict = "NOT met"
		}
		fmt.Fprintf(&b, "\nGoal: Stargate ≥ 1.0× NSD's queries per second — %s (%.2f×).\n", verdict, r)
	}
	return b.String()
}

func qpsOf(rs []result) []float64 {
	var out []float64
	for _, r := range rs {
		out = append(out, r.qps)
	}
	return out
}
