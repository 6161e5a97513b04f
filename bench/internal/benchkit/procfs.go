package benchkit

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The benchmarks meter CPU and memory from /proc rather than from the
// processes themselves, so the servers need no instrumentation and the
// numbers cover everything they do, runtime included. Off Linux these
// read zero.

// ClkTck is USER_HZ, 100 on every Linux platform Go supports.
const ClkTck = 100

// PidCPU is a process's user+system CPU time so far (its own, not its
// children's); 0 if unknown.
func PidCPU(pid int) time.Duration {
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
	return TicksToCPU(u + st)
}

// TicksToCPU converts clock ticks to CPU time.
func TicksToCPU(t int64) time.Duration { return time.Duration(t) * time.Second / ClkTck }

// SysCPU is the machine-wide CPU counters from /proc/stat, in ticks.
type SysCPU struct{ Total, Idle, IOWait int64 }

// ReadSysCPU reads the aggregate "cpu" line of /proc/stat; zero if unknown.
func ReadSysCPU() SysCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return SysCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var c SysCPU
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is already counted in user
			break
		}
		c.Total += n
		switch i {
		case 3:
			c.Idle = n
		case 4:
			c.IOWait = n
		}
	}
	return c
}

// Busy is the ticks spent neither idle nor waiting for I/O.
func (c SysCPU) Busy() int64 { return c.Total - c.Idle - c.IOWait }

// BusyShare is the machine's busy share between two samples, 0..1; time
// waiting for I/O counts as idle.
func BusyShare(a, b SysCPU) float64 {
	d := b.Total - a.Total
	if d <= 0 {
		return 0
	}
	return 1 - float64((b.Idle+b.IOWait)-(a.Idle+a.IOWait))/float64(d)
}

// MemInfo is a process's memory from /proc/PID/status, in bytes.
type MemInfo struct {
	RSS, RSSAnon, RSSFile int64
	HWM                   int64 // peak RSS
}

// ReadMem reads pid's memory; zero if unknown.
func ReadMem(pid int) MemInfo {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return MemInfo{}
	}
	defer f.Close()
	var m MemInfo
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &m.RSS
		case "RssAnon":
			dst = &m.RSSAnon
		case "RssFile":
			dst = &m.RSSFile
		case "VmHWM":
			dst = &m.HWM
		default:
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		*dst = kb * 1024
	}
	return m
}
