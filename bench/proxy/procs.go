package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

// childEnv is the environment prefixes the children (stargate, nginx, wrk)
// must not inherit: Stargate would read them as configuration, and the Go
// runtime settings would change what is measured.
var childEnv = []string{"STARGATE_", "GODEBUG=", "GOGC=", "GOMAXPROCS=", "GOMEMLIMIT="}

// childPIDs lists the processes whose parent is ppid (nginx workers).
func childPIDs(ppid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			out = append(out, pid)
		}
	}
	return out
}

// pidsCPU is the summed CPU time so far of the given processes.
func pidsCPU(pids []int) time.Duration {
	var d time.Duration
	for _, p := range pids {
		d += benchkit.PidCPU(p)
	}
	return d
}

// startStargate starts a stargate on a bolt store in dir and waits for its
// admin API and plain HTTP proxy listener. The limit is long: a store
// holding 100,000 routes takes a while to load and compile.
func startStargate(ctx context.Context, bin, dir, key string) (*benchkit.Stargate, error) {
	return benchkit.StartStargate(ctx, benchkit.StargateConfig{
		Bin: bin, Dir: dir, DataDir: filepath.Join(dir, "data"), AdminKey: key,
		Store: []string{"--store", "bolt"}, Limit: 5 * time.Minute, Proxy: true, DropEnv: childEnv,
	})
}

// waitStarted polls ready every 20 ms until it reports true, p exits, ctx
// ends or 10 s pass; on failure p is stopped, and detail (the child's own
// log, say) is added to the error.
func waitStarted(ctx context.Context, p *benchkit.Proc, name string, ready func() bool, detail func() string) error {
	deadline := time.Now().Add(10 * time.Second)
	for !ready() {
		select {
		case <-p.Exited():
			return fmt.Errorf("%s exited at start: %v\n%s%s", name, p.WaitErr(), p.Tail(2048), detail())
		case <-ctx.Done():
			p.Stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return fmt.Errorf("%s did not start within 10s%s", name, detail())
		}
	}
	return nil
}

// listening reports whether addr accepts a TCP connection.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
