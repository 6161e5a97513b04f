// Package dnstest runs the real DNS tools the DNS tests need: dig (Debian
// dnsutils) and a BIND secondary (Debian bind9), on loopback, bounded in
// time. A missing tool skips the test, or fails it when
// STARGATE_REQUIRE_TOOLS=1 (scripts/test.sh sets it).
package dnstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/testutil/childproc"
)

// RequireEnv turns a missing tool from a skip into a failure.
const RequireEnv = "STARGATE_REQUIRE_TOOLS"

// Need returns the path of a tool, skipping (or failing, with
// STARGATE_REQUIRE_TOOLS=1) when it is not installed.
func Need(tb testing.TB, tool, pkg string) string {
	tb.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		if _, serr := os.Stat(filepath.Join(dir, tool)); serr == nil {
			return filepath.Join(dir, tool)
		}
	}
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s not installed (Debian package %s) and %s=1", tool, pkg, RequireEnv)
	}
	tb.Skipf("skipping: %s not installed (Debian package %s); set %s=1 to make this a failure", tool, pkg, RequireEnv)
	return ""
}

// Dig runs dig against server (host:port) with args and returns its
// output. It fails the test on a dig error, and never runs longer than 10s.
func Dig(tb testing.TB, server string, args ...string) string {
	tb.Helper()
	bin := Need(tb, "dig", "dnsutils")
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	full := append([]string{"@" + host, "-p", port, "+time=2", "+tries=2"}, args...)
	out, err := exec.CommandContext(ctx, bin, full...).CombinedOutput()
	if err != nil {
		tb.Fatalf("dig %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return string(out)
}

// FreePort returns a port that was free for both TCP and UDP on 127.0.0.1.
func FreePort(tb testing.TB) int {
	tb.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		_ = l.Close()
		if err == nil {
			_ = u.Close()
			return port
		}
	}
	tb.Fatal("no free port")
	return 0
}

// Secondary is a BIND named process acting as secondary on loopback.
type Secondary struct {
	Addr string // 127.0.0.1:port
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
	once sync.Once
}

// StartBIND starts named as a secondary for zones, transferring from
// primary (host:port) and accepting its NOTIFY. It stops when tb ends.
func StartBIND(tb testing.TB, primary string, zones ...string) *Secondary {
	tb.Helper()
	bin := Need(tb, "named", "bind9")
	phost, pport, err := net.SplitHostPort(primary)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	var lastErr error
	for range 3 {
		port := FreePort(tb)
		var zc strings.Builder
		for _, z := range zones {
			fmt.Fprintf(&zc, "zone %q { type secondary; primaries port %s { %s; }; file %q; };\n", z, pport, phost, filepath.Join(dir, z+".db"))
		}
		conf := fmt.Sprintf(`options {
  directory %q;
  listen-on port %d { 127.0.0.1; };
  listen-on-v6 { none; };
  pid-file %q;
  session-keyfile %q;
  managed-keys-directory %q;
  recursion no;
  dnssec-validation no;
  notify no;
  transfers-in 10;
  min-refresh-time 300;
};
controls { };
logging { channel all { stderr; severity info; print-time yes; }; category default { all; }; category xfer-in { all; }; category notify { all; }; };
%s`, dir, port, filepath.Join(dir, "named.pid"), filepath.Join(dir, "session.key"), dir, zc.String())
		cf := filepath.Join(dir, "named.conf")
		if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
			tb.Fatal(err)
		}
		s := &Secondary{Addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, done: make(chan struct{}), log: &lockedBuffer{}}
		s.cmd = exec.Command(bin, "-g", "-n", "1", "-c", cf)
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		s.cmd.SysProcAttr = childproc.Attr()
		if err := s.cmd.Start(); err != nil {
			tb.Fatalf("start named: %v", err)
		}
		go func() { _ = s.cmd.Wait(); close(s.done) }()
		tb.Cleanup(func() {
			s.Stop()
			if tb.Failed() {
				tb.Logf("named log:\n%s", s.Log())
			}
		})
		if err := s.waitListening(15 * time.Second); err != nil {
			lastErr = err
			s.Stop()
			continue
		}
		return s
	}
	tb.Fatalf("named did not start: %v", lastErr)
	return nil
}

func (s *Secondary) waitListening(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("named exited:\n%s", s.Log())
		default:
		}
		if strings.Contains(s.Log(), "running") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("named not running after %v:\n%s", d, s.Log())
}

// Log is named's output so far.
func (s *Secondary) Log() string { return s.log.String() }

// Stop ends named (SIGTERM, then SIGKILL after 5s).
func (s *Secondary) Stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// WaitLog waits until named's log contains substr.
func (s *Secondary) WaitLog(substr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(s.Log(), substr) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("named log has no " + substr)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
