package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

type machine struct {
	benchkit.Host
	dir           string
	mount, fstype string
	device        string
	diskInfo      string
	fsyncP50      time.Duration
	fsyncP99      time.Duration
	fsyncN        int
	etcdVersion   string
	stargateVer   string
	commit        string
}

func (m machine) oneLine() string {
	return fmt.Sprintf("%d CPUs (%s), %.0f GiB RAM, %s on %s (%s), fdatasync p50 %.2f ms p99 %.2f ms",
		m.CPUs, m.CPUModel, m.MemGiB, m.fstype, m.device, m.diskInfo, ms(m.fsyncP50), ms(m.fsyncP99))
}

func describeMachine(ctx context.Context, dir, bin, etcdBin string) (machine, error) {
	m := machine{Host: benchkit.DescribeHost(), dir: dir}
	m.mount, m.fstype, m.device = mountOf(dir)
	m.diskInfo = diskInfo(m.device)
	var err error
	if m.fsyncP50, m.fsyncP99, m.fsyncN, err = fsyncProbe(dir, 200); err != nil {
		return m, fmt.Errorf("fsync probe: %w", err)
	}
	if out, err := exec.CommandContext(ctx, etcdBin, "--version").Output(); err == nil {
		m.etcdVersion = "etcd " + strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(out), "\n", 2)[0], "etcd Version:"))
	} else {
		return m, fmt.Errorf("%s --version: %w", etcdBin, err)
	}
	m.stargateVer = benchkit.StargateVersion(ctx, bin)
	if commit, dirty, ok := benchkit.GitCommit(ctx); ok {
		m.commit = commit
		if dirty {
			m.commit += " (with uncommitted changes)"
		}
	}
	return m, nil
}

// mountOf finds the mount holding dir in /proc/self/mountinfo.
func mountOf(dir string) (mount, fstype, device string) {
	abs, err := filepath.EvalSymlinks(dir)
	if err != nil {
		abs = dir
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "?", "?", "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 0 || sep+2 >= len(fields) {
			continue
		}
		mp := fields[4]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(mount) {
			mount, fstype, device = mp, fields[sep+1], fields[sep+2]
		}
	}
	return mount, fstype, device
}

// diskInfo describes the block device behind a /dev/X source.
func diskInfo(device string) string {
	name := filepath.Base(device)
	sys := "/sys/class/block/" + name
	if _, err := os.Stat(sys); err != nil {
		return "no block device info"
	}
	// A partition's queue lives on its parent disk.
	if real, err := filepath.EvalSymlinks(sys); err == nil {
		if _, err := os.Stat(filepath.Join(real, "partition")); err == nil {
			sys = filepath.Dir(real)
			name = filepath.Base(sys)
		}
	}
	read := func(p string) string {
		b, _ := os.ReadFile(filepath.Join(sys, p))
		return strings.TrimSpace(string(b))
	}
	var parts []string
	if model := read("device/model"); model != "" {
		parts = append(parts, model)
	} else if strings.HasPrefix(name, "vd") {
		parts = append(parts, "virtio disk")
	}
	if rot := read("queue/rotational"); rot != "" {
		parts = append(parts, "rotational="+rot)
	}
	if sched := read("queue/scheduler"); sched != "" {
		parts = append(parts, "scheduler "+sched)
	}
	if wc := read("queue/write_cache"); wc != "" {
		parts = append(parts, "write cache "+wc)
	}
	return strings.Join(parts, ", ")
}

// fsyncProbe times n 4 KiB appends each followed by fdatasync, the
// operation both bolt and etcd's WAL pay per commit, on dir's filesystem.
func fsyncProbe(dir string, n int) (p50, p99 time.Duration, count int, err error) {
	f, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	lat := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return 0, 0, 0, err
		}
		if err := fdatasync(f); err != nil {
			return 0, 0, 0, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return benchkit.Percentile(lat, 50), benchkit.Percentile(lat, 99), n, nil
}
