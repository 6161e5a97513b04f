package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

type machine struct {
	cpus         int
	cpuModel     string
	memGiB       float64
	kernel       string
	goVersion    string
	nginxVersion string
	wrkVersion   string
	stargateVer  string
	commit       string
}

func (m machine) oneLine() string {
	return fmt.Sprintf("%d CPUs (%s), %.0f GiB RAM, Linux %s; %s, %s, %s",
		m.cpus, m.cpuModel, m.memGiB, m.kernel, m.nginxVersion, m.wrkVersion, m.stargateVer)
}

func describeMachine(ctx context.Context, bin string, o options) machine {
	m := machine{cpus: runtime.NumCPU(), goVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.cpuModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
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
		m.memGiB = kb / (1 << 20)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	m.nginxVersion = nginxVersion(ctx, o.nginxBin)
	// `wrk -v` prints its version and exits non-zero.
	out, _ := exec.CommandContext(ctx, o.wrk, "-v").CombinedOutput()
	m.wrkVersion = "wrk"
	if f := strings.Fields(string(out)); len(f) >= 2 && f[0] == "wrk" {
		m.wrkVersion = "wrk " + f[1]
	}
	if out, err := exec.CommandContext(ctx, bin, "version").Output(); err == nil {
		m.stargateVer = strings.TrimSpace(string(out))
	}
	switch {
	case o.commit != "":
		m.commit = o.commit
	case o.bin != "":
		m.commit = "unknown: binary given with -bin"
	default:
		m.commit = gitCommit(ctx)
	}
	return m
}

// gitCommit describes the checkout the benchmark builds from.
func gitCommit(ctx context.Context) string {
	commit := "unknown"
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
			commit += " with uncommitted changes"
		}
	}
	return commit
}
