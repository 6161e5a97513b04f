package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
	"github.com/stargate-edge/stargate/internal/testutil/childproc"
)

// target is one server wrk is pointed at.
type target struct {
	name     string
	addr     string // host:port
	host     string // Host header
	path     string
	headers  []string     // extra request headers, "Name: value"
	pids     func() []int // the server's processes, whose CPU is metered
	upstream func() []int // the upstream's processes ("" when none)
}

// wrkResult is one wrk run and the CPU spent during it.
type wrkResult struct {
	requests      int64
	seconds       float64 // wrk's own run time
	rps           float64
	p50, p90, p99 time.Duration
	non2xx        int64
	sockErrs      int64
	proxyCPU      time.Duration
	upstreamCPU   time.Duration
	wrkCPU        time.Duration
	busy          float64       // machine busy share during the run
	otherCPU      time.Duration // CPU of everything else on the machine
	wall          time.Duration
	quietBusy     float64         // machine busy share in the last second sampled before the warm-up
	stalls        benchkit.Stalls // host stalls during the run (see benchkit.StallWatch)
	retried       int             // runs measured again before this one because the host stalled
}

func (r wrkResult) perReq(d time.Duration) float64 { // µs per request
	if r.requests == 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(r.requests)
}

// otherShare is the machine's capacity used by processes outside the
// benchmark during the run, 0..1.
func (r wrkResult) otherShare() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.otherCPU) / float64(r.wall) / float64(runtime.NumCPU())
}

// check GETs the target once and wants 200 with a body of want bytes.
func check(ctx context.Context, t target, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.addr+t.path, nil)
	if err != nil {
		return err
	}
	req.Host = t.host
	for _, h := range t.headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s: GET %s (Host %s): %w", t.name, t.path, t.host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: GET %s: reading body: %w", t.name, t.path, err)
	}
	if resp.StatusCode != http.StatusOK || len(b) != want {
		return fmt.Errorf("%s: GET %s (Host %s): %s with %d bytes, want 200 with %d: %.300s", t.name, t.path, t.host, resp.Status, len(b), want, b)
	}
	return nil
}

// runWrk runs `wrk -tT -cC -dD --latency` against t and meters CPU.
func runWrk(ctx context.Context, o options, t target, d time.Duration) (wrkResult, error) {
	var res wrkResult
	secs := max(1, int(d.Round(time.Second)/time.Second))
	args := []string{
		fmt.Sprintf("-t%d", o.threads), fmt.Sprintf("-c%d", o.conns), fmt.Sprintf("-d%ds", secs),
		"--latency", "--timeout", "5s",
		"-H", "Host: " + t.host,
	}
	for _, h := range t.headers {
		args = append(args, "-H", h)
	}
	args = append(args, "http://"+t.addr+t.path)
	// Bound: wrk stops itself after -d; the context kills it if it hangs.
	wctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(wctx, o.wrk, args...)
	cmd.Env = benchkit.CleanEnv(childEnv)
	cmd.SysProcAttr = childproc.Attr()
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out

	var up []int
	if t.upstream != nil {
		up = t.upstream()
	}
	px := t.pids()
	p0, u0, s0, t0 := pidsCPU(px), pidsCPU(up), benchkit.ReadSysCPU(), time.Now()
	err := cmd.Run()
	p1, u1, s1 := pidsCPU(px), pidsCPU(up), benchkit.ReadSysCPU()
	res.wall = time.Since(t0)
	if err != nil {
		return res, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	res.proxyCPU, res.upstreamCPU = p1-p0, u1-u0
	res.wrkCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	res.busy = benchkit.BusyShare(s0, s1)
	res.otherCPU = max(0, benchkit.TicksToCPU(s1.Busy()-s0.Busy())-res.proxyCPU-res.upstreamCPU-res.wrkCPU)
	if err := parseWrk(out.String(), &res); err != nil {
		return res, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	if res.non2xx > 0 || res.sockErrs > 0 {
		return res, fmt.Errorf("%s: wrk saw %d non-2xx answers and %d socket errors\n%s", t.name, res.non2xx, res.sockErrs, out.String())
	}
	return res, nil
}

var (
	wrkReqsRE    = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m|h),`)
	wrkRPSRE     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPctRE     = regexp.MustCompile(`^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$`)
	wrkNon2xxRE  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErrRE = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func unitDur(v, unit string) time.Duration {
	f, _ := strconv.ParseFloat(v, 64)
	m := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	return time.Duration(f * float64(m))
}

func parseWrk(s string, r *wrkResult) error {
	m := wrkReqsRE.FindStringSubmatch(s)
	if m == nil {
		return errors.New("no request count in wrk's output")
	}
	r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	r.seconds = unitDur(m[2], m[3]).Seconds()
	if m := wrkRPSRE.FindStringSubmatch(s); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	} else {
		return errors.New("no Requests/sec in wrk's output")
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if m := wrkPctRE.FindStringSubmatch(sc.Text()); m != nil {
			d := unitDur(m[2], m[3])
			switch m[1] {
			case "50":
				r.p50 = d
			case "90":
				r.p90 = d
			case "99":
				r.p99 = d
			}
		}
	}
	if r.p99 == 0 {
		return errors.New("no latency distribution in wrk's output")
	}
	if m := wrkNon2xxRE.FindStringSubmatch(s); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkSockErrRE.FindStringSubmatch(s); m != nil {
		for _, x := range m[1:] {
			n, _ := strconv.ParseInt(x, 10, 64)
			r.sockErrs += n
		}
	}
	return nil
}
