package etcdtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns "etcd is not installed"
// from a skip into a failure.
const RequireEnv = "STARGATE_REQUIRE_ETCD"

// Binary is the name of the etcd executable looked up on PATH.
const Binary = "etcd"

// ErrNoBinary is returned (wrapped) by StartServer when etcd is not on PATH.
var ErrNoBinary = errors.New("etcdtest: etcd binary not found on PATH (install Debian's etcd-server)")

// startTimeout bounds how long StartServer waits for the server to be healthy.
const startTimeout = 30 * time.Second

// Server is a running etcd process.
type Server struct {
	endpoint string
	dataDir  string
	logPath  string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has exited
	waitErr  error         // valid after exited is closed
	stopOnce sync.Once
	stopErr  error
}

// Endpoints returns the client URLs to give to clientv3.
func (s *Server) Endpoints() []string { return []string{s.endpoint} }

// LogPath is the file holding the server's log output; it is removed by Stop.
func (s *Server) LogPath() string { return s.logPath }

// Required reports whether STARGATE_REQUIRE_ETCD=1 is set.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Check skips tb if err says the etcd binary is missing (fails instead when
// STARGATE_REQUIRE_ETCD=1), and fails tb for any other error. It does nothing
// when err is nil.
func Check(tb testing.TB, err error) {
	tb.Helper()
	switch {
	case err == nil:
	case errors.Is(err, ErrNoBinary) && !Required():
		tb.Skipf("skipping: %v; set %s=1 to make this a failure", err, RequireEnv)
	default:
		tb.Fatalf("etcd test server: %v", err)
	}
}

// Start starts a server for one test or benchmark and stops it when tb ends.
// It skips tb when etcd is not installed (see Check).
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := StartServer()
	Check(tb, err)
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("stopping etcd: %v", err)
		}
	})
	return s
}

// StartServer starts a server and waits until it reports healthy. The caller
// must Stop it. A missing binary is reported as an error wrapping ErrNoBinary.
func StartServer() (*Server, error) {
	// A single member has no peers to lose, so fast ticks are safe. They
	// make startup quick and lower the minimum lease TTL (1.5 election
	// timeouts, rounded up to a second) to 1s, so TTL tests get the TTL
	// they asked for.
	members, err := startMembers(1, 10, 100)
	if err != nil {
		return nil, err
	}
	return members[0], nil
}

// Cluster is a running multi-member etcd cluster.
type Cluster struct {
	Members []*Server
}

// Endpoints returns the client URLs of every member.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.Members {
		eps = append(eps, m.endpoint)
	}
	return eps
}

// Stop stops every member.
func (c *Cluster) Stop() error {
	var errs []error
	for _, m := range c.Members {
		errs = append(errs, m.Stop())
	}
	return errors.Join(errs...)
}

// StartCluster starts an n-member cluster for one test and stops it when tb
// ends; stopping members lets a test take away the quorum. It skips tb when
// etcd is not installed (see Check).
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	// Slower ticks than a single member's: peers must not lose their
	// leader on a loaded machine.
	members, err := startMembers(n, 25, 250)
	Check(tb, err)
	c := &Cluster{Members: members}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("stopping etcd cluster: %v", err)
		}
	})
	return c
}

// startMembers starts an n-member cluster and waits for every member to be
// healthy. Ports are picked by binding :0 and releasing them, so another
// process may grab one before etcd binds it; it retries a few times.
func startMembers(n, heartbeatMillis, electionMillis int) ([]*Server, error) {
	bin, err := exec.LookPath(Binary)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoBinary, err)
	}
	var lastErr error
	for range 3 {
		members, err := tryMembers(bin, n, heartbeatMillis, electionMillis)
		if err == nil {
			return members, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func tryMembers(bin string, n, heartbeatMillis, electionMillis int) ([]*Server, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	token := make([]byte, 8)
	_, _ = rand.Read(token)
	var initial []string
	for i := range n {
		initial = append(initial, fmt.Sprintf("m%d=http://127.0.0.1:%d", i, ports[2*i+1]))
	}
	var members []*Server
	stopAll := func() {
		for _, m := range members {
			_ = m.Stop()
		}
	}
	for i := range n {
		m, err := launch(bin, []string{
			"--name", fmt.Sprintf("m%d", i),
			"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]),
			"--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]),
			"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "etcdtest-" + hex.EncodeToString(token),
			"--heartbeat-interval", fmt.Sprint(heartbeatMillis),
			"--election-timeout", fmt.Sprint(electionMillis),
			"--logger", "zap",
			"--log-outputs", "stderr",
		}, fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]))
		if err != nil {
			stopAll()
			return nil, err
		}
		members = append(members, m)
	}
	for _, m := range members {
		if err := m.waitHealthy(startTimeout); err != nil {
			logTail := m.tailLog(4096)
			stopAll()
			return nil, fmt.Errorf("%w\netcd log tail:\n%s", err, logTail)
		}
	}
	return members, nil
}

// launch starts one etcd process with a fresh data directory.
func launch(bin string, args []string, clientURL string) (*Server, error) {
	dir, err := os.MkdirTemp("", "etcdtest-")
	if err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	s := &Server{
		endpoint: clientURL,
		dataDir:  filepath.Join(dir, "data"),
		logPath:  filepath.Join(dir, "etcd.log"),
		exited:   make(chan struct{}),
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor

	s.cmd = exec.Command(bin, append([]string{"--data-dir", s.dataDir}, args...)...)
	s.cmd.Env = cleanEnv()
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("etcdtest: starting %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// waitHealthy polls /health until the member has a leader and serves reads.
func (s *Server) waitHealthy(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		if ok, _ := s.healthy(ctx, client); ok {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("etcdtest: etcd exited before becoming healthy: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("etcdtest: etcd at %s not healthy after %v", s.endpoint, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) healthy(ctx context.Context, client *http.Client) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"/health", nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var body struct {
		Health string `json:"health"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body); err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusOK && body.Health == "true", nil
}

// Stop terminates the server (SIGTERM, then SIGKILL after 10s) and removes
// its data directory. It is safe to call more than once and on a nil Server.
func (s *Server) Stop() error {
	if s == nil {
		return nil
	}
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
		s.stopErr = os.RemoveAll(filepath.Dir(s.dataDir))
	})
	return s.stopErr
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it to
// exit. Its data stays until Stop.
func (s *Server) Kill() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *Server) tailLog(n int64) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("etcdtest: finding a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// cleanEnv is the test process's environment without ETCD_* variables, which
// etcd would read as flags.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") {
			env = append(env, kv)
		}
	}
	return env
}
