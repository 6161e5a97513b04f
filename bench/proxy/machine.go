package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

type machine struct {
	benchkit.Host
	nginxVersion string
	wrkVersion   string
	stargateVer  string
	commit       string
}

func (m machine) oneLine() string {
	return fmt.Sprintf("%d CPUs (%s), %.0f GiB RAM, Linux %s; %s, %s, %s",
		m.CPUs, m.CPUModel, m.MemGiB, m.Kernel, m.nginxVersion, m.wrkVersion, m.stargateVer)
}

func describeMachine(ctx context.Context, bin string, o options) machine {
	m := machine{Host: benchkit.DescribeHost()}
	m.nginxVersion = nginxVersion(ctx, o.nginxBin)
	// `wrk -v` prints its version and exits non-zero.
	out, _ := exec.CommandContext(ctx, o.wrk, "-v").CombinedOutput()
	m.wrkVersion = "wrk"
	if f := strings.Fields(string(out)); len(f) >= 2 && f[0] == "wrk" {
		m.wrkVersion = "wrk " + f[1]
	}
	m.stargateVer = benchkit.StargateVersion(ctx, bin)
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
	commit, dirty, ok := benchkit.GitCommit(ctx)
	switch {
	case !ok:
		return "unknown"
	case dirty:
		return commit + " with uncommitted changes"
	}
	return commit
}
