package benchkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StartProfile samples the given processes (a stargate, and an etcd when
// there is one) with perf during one phase or measured run; stop ends it
// and writes path (perf.data) and path.txt (a flat perf report). perf
// needs no change to the server, which has no /debug/pprof, and sees
// other processes too, which a Go profile of stargate would not.
func StartProfile(ctx context.Context, path string, pids []int) (stop func() error, err error) {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile needs perf on PATH: %w", err)
	}
	var ps []string
	for _, p := range pids {
		ps = append(ps, strconv.Itoa(p))
	}
	cmd := exec.Command(perf, "record", "-F", "999", "-g", "-o", path, "-p", strings.Join(ps, ","))
	logFile, err := os.Create(path + ".log")
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("perf record: %w", err)
	}
	time.Sleep(300 * time.Millisecond) // let perf attach
	done := false
	return func() error {
		if done {
			return nil
		}
		done = true
		defer logFile.Close()
		_ = cmd.Process.Signal(syscall.SIGINT)
		// perf re-raises the SIGINT it handled, so "killed by SIGINT"
		// after writing its data is its normal exit.
		if err := cmd.Wait(); err != nil && !killedBy(err, syscall.SIGINT) {
			return fmt.Errorf("perf record: %w (see %s.log)", err, path)
		}
		out, err := os.Create(path + ".txt")
		if err != nil {
			return err
		}
		defer out.Close()
		rep := exec.CommandContext(ctx, perf, "report", "-i", path, "--stdio", "--no-children",
			"--sort", "comm,dso,sym", "--percent-limit", "0.3", "-g", "none")
		rep.Stdout, rep.Stderr = out, logFile
		if err := rep.Run(); err != nil {
			return fmt.Errorf("perf report: %w", err)
		}
		Logf("profile written: %s (perf.data), %s.txt (flat report)", path, path)
		return nil
	}, nil
}

func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
