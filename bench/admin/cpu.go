package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clkTck is USER_HZ, 100 on every Linux platform Go supports.
const clkTck = 100

// procCPU is a process's user+system CPU time so far; 0 if unknown.
func procCPU(p *proc) time.Duration {
	if p == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the ")" closing the command name: state is field 3,
	// utime 14 and stime 15 (1-based), i.e. rest[11] and rest[12].
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	rest := strings.Fields(s[i+1:])
	if len(rest) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(rest[11], 10, 64)
	st, _ := strconv.ParseInt(rest[12], 10, 64)
	return time.Duration(u+st) * time.Second / clkTck
}

// selfCPU is this process's (the load generator's) CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sysCPU is the machine-wide CPU counters from /proc/stat, in ticks.
type sysCPU struct{ total, idle, iowait int64 }

func readSysCPU() sysCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return sysCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var c sysCPU
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is already counted in user
			break
		}
		c.total += n
		switch i {
		case 3:
			c.idle = n
		case 4:
			c.iowait = n
		}
	}
	return c
}

// cpuSample is the CPU spent by each party over one phase.
type cpuSample struct {
	stargate, etcd, client time.Duration
	busy, iowait           float64 // machine-wide shares of the phase's CPU time
}

type cpuMeter struct {
	sg, et     *proc
	s0, e0, c0 time.Duration
	sys0       sysCPU
}

func startCPU(sg, et *proc) *cpuMeter {
	return &cpuMeter{sg: sg, et: et, s0: procCPU(sg), e0: procCPU(et), c0: selfCPU(), sys0: readSysCPU()}
}

func (m *cpuMeter) stop() cpuSample {
	sys := readSysCPU()
	out := cpuSample{stargate: procCPU(m.sg) - m.s0, etcd: procCPU(m.et) - m.e0, client: selfCPU() - m.c0}
	if d := sys.total - m.sys0.total; d > 0 {
		out.busy = 1 - float64((sys.idle-m.sys0.idle)+(sys.iowait-m.sys0.iowait))/float64(d)
		out.iowait = float64(sys.iowait-m.sys0.iowait) / float64(d)
	}
	return out
}
