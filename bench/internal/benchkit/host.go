package benchkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Host is the machine a benchmark runs on, as its report describes it:
// numbers from one machine are only comparable with numbers from the same
// kind of machine.
type Host struct {
	CPUs      int
	CPUModel  string
	MemGiB    float64
	Kernel    string
	GoVersion string
}

// DescribeHost reads the host's CPUs, RAM and kernel from /proc; what it
// cannot read stays empty.
func DescribeHost() Host {
	h := Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				h.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
			}
		}
		h.MemGiB = kb / (1 << 20)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	return h
}

// StargateVersion is what `bin version` prints; "" if it fails.
func StargateVersion(ctx context.Context, bin string) string {
	if out, err := exec.CommandContext(ctx, bin, "version").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return ""
}

// GitCommit is the short HEAD commit of the checkout the benchmark runs
// in, and whether tracked files have uncommitted changes (then the binary
// it builds is not that commit). ok is false outside a git checkout.
func GitCommit(ctx context.Context) (commit string, dirty, ok bool) {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "", false, false
	}
	st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output()
	return strings.TrimSpace(string(out)), err == nil && len(strings.TrimSpace(string(st))) > 0, true
}
