package main

import (
	"syscall"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

// procCPU is a process's user+system CPU time so far; 0 if unknown.
func procCPU(p *benchkit.Proc) time.Duration {
	if p == nil {
		return 0
	}
	return benchkit.PidCPU(p.Pid())
}

// selfCPU is this process's (the load generator's) CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuSample is the CPU spent by each party over one phase.
type cpuSample struct {
	stargate, etcd, client time.Duration
	busy, iowait           float64 // machine-wide shares of the phase's CPU time
}

type cpuMeter struct {
	sg, et     *benchkit.Proc
	s0, e0, c0 time.Duration
	sys0       benchkit.SysCPU
}

func startCPU(sg, et *benchkit.Proc) *cpuMeter {
	return &cpuMeter{sg: sg, et: et, s0: procCPU(sg), e0: procCPU(et), c0: selfCPU(), sys0: benchkit.ReadSysCPU()}
}

func (m *cpuMeter) stop() cpuSample {
	sys := benchkit.ReadSysCPU()
	out := cpuSample{stargate: procCPU(m.sg) - m.s0, etcd: procCPU(m.et) - m.e0, client: selfCPU() - m.c0}
	if d := sys.Total - m.sys0.Total; d > 0 {
		out.busy = benchkit.BusyShare(m.sys0, sys)
		out.iowait = float64(sys.IOWait-m.sys0.IOWait) / float64(d)
	}
	return out
}
