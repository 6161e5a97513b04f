package benchkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Main runs a benchmark with a context that SIGINT and SIGTERM cancel, so
// an interrupted run still stops its children and reports where its work
// dir was kept, and exits 1 with "name: FAILED: err" when run fails.
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+": FAILED:", err)
		os.Exit(1)
	}
}

// Logf writes a timestamped progress line to stderr, keeping stdout for
// the markdown report.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// WorkDir makes a run's scratch directory (binaries, data dirs, logs)
// under parent, or under os.TempDir() when parent is "". release removes
// it, unless keep: then it logs where it was left, for a -keep flag or
// for the logs that explain a failed run.
func WorkDir(parent, pattern string) (dir string, release func(keep bool), err error) {
	if parent == "" {
		parent = os.TempDir()
	}
	dir, err = os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", nil, err
	}
	return dir, func(keep bool) {
		if keep {
			Logf("kept %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}, nil
}

// WriteReport writes the report to stdout and, when path is not "", to
// the file at path too.
func WriteReport(path string, report func(w io.Writer)) error {
	var w io.Writer = os.Stdout
	var f *os.File
	if path != "" {
		var err error
		if f, err = os.Create(path); err != nil {
			return err
		}
		defer f.Close()
		w = io.MultiWriter(os.Stdout, f)
	}
	report(w)
	if f != nil {
		if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			return err
		}
	}
	return nil
}
