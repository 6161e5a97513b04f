package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clkTck is USER_HZ, 100 on every Linux platform Go supports.
const clkTck = 100

// pidCPU is a process's user+system CPU time so far (its own, not its
// children's); 0 if unknown.
func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
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

func pidsCPU(pids []int) time.Duration {
	var d time.Duration
	for _, p := range pids {
		d += pidCPU(p)
	}
	return d
}

// sysCPU is the machine-wide CPU counters from /proc/stat, in ticks.
type sysCPU struct{ total, idle int64 }

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
		if i == 3 || i == 4 { // idle, iowait
			c.idle += n
		}
	}
	return c
}

// busyShare is the machine's busy share between two samples, 0..1.
func busyShare(a, b sysCPU) float64 {
	d := b.total - a.total
	if d <= 0 {
		return 0
	}
	return 1 - float64(b.idle-a.idle)/float64(d)
}

// ticksToCPU converts machine-wide ticks to CPU time.
func ticksToCPU(t int64) time.Duration { return time.Duration(t) * time.Second / clkTck }
