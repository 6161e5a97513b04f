package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/testutil/childproc"
)

// testVersion is stamped into the binary with -ldflags -X main.version, the
// way release builds set it, so `stargate version` can be checked exactly.
const testVersion = "0.0.0-e2e"

// Bounds for every wait on a child process; nothing here waits forever.
const (
	addrTimeout  = 15 * time.Second // from exec to the "admin API listening" log line
	readyTimeout = 15 * time.Second // from exec to /readyz 200
	exitTimeout  = 15 * time.Second // from a signal to process exit
)

// binEnv names a prebuilt binary to test instead of building ./cmd/stargate.
const binEnv = "STARGATE_E2E_BIN"

var (
	binPath  string // the stargate binary built by TestMain
	buildErr error
	repoRoot string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stargate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	repoRoot, err = filepath.Abs(filepath.Join("..", ".."))
	switch {
	case err != nil:
		buildErr = err
	case os.Getenv(binEnv) != "":
		// Test a binary built elsewhere (a release build, or a deliberately
		// broken one to check that these tests catch the fault).
		binPath = os.Getenv(binEnv)
	default:
		binPath = filepath.Join(dir, "stargate")
		buildErr = build(repoRoot, binPath)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles ./cmd/stargate once for the whole test binary. A failure
// is reported by every test that needs the binary (the layering test does
// not), rather than aborting the run.
func build(root, out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out,
		"-ldflags", "-X main.version="+testVersion, "./cmd/stargate")
	cmd.Dir = root
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build ./cmd/stargate: %v\n%s", err, b)
	}
	return nil
}

func needBinary(t testing.TB) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("stargate binary not built: %v", buildErr)
	}
}

// lineBuffer collects a child's output and lets a test wait for a line.
type lineBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newLineBuffer() *lineBuffer { return &lineBuffer{changed: make(chan struct{})} }

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitMatch waits until re matches a complete line and returns its first
// submatch. It gives up at the deadline or when stop is closed.
func (b *lineBuffer) waitMatch(re *regexp.Regexp, timeout time.Duration, stop <-chan struct{}) (string, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		text, changed := b.buf.String(), b.changed
		b.mu.Unlock()
		if i := strings.LastIndexByte(text, '\n'); i >= 0 {
			if m := re.FindStringSubmatch(text[:i]); m != nil {
				return m[1], true
			}
		}
		select {
		case <-changed:
		case <-stop:
			return "", false
		case <-deadline.C:
			return "", false
		}
	}
}

// proc is one running `stargate` child process.
type proc struct {
	t       testing.TB
	cmd     *exec.Cmd
	dataDir string
	addr    string // host:port the admin API bound
	base    string // http://addr
	key     string // admin key used by do() when a call passes key ""
	stdout  *lineBuffer
	stderr  *lineBuffer
	client  *http.Client
	exited  chan struct{}
	state   *os.ProcessState // valid once exited is closed
}

// startOpts describes one child.
type startOpts struct {
	// args follow the binary name; "serve" is prepended unless args start
	// with a subcommand.
	args []string
	// env entries are added to the child's environment, from which every
	// STARGATE_* variable of the test process has been removed.
	env []string
	// dataDir is passed as --data-dir unless raw; a new temp dir when empty.
	dataDir string
	// raw: pass args as they are, without --data-dir and --admin-listen.
	raw bool
	// key is the admin key do() sends by default.
	key string
}

var listenRE = regexp.MustCompile(`msg="admin API listening" addr=(\S+)`)

// launch execs the binary and returns without waiting for anything.
func launch(t testing.TB, o startOpts) *proc {
	t.Helper()
	needBinary(t)
	args := o.args
	if !o.raw {
		if o.dataDir == "" {
			o.dataDir = t.TempDir()
		}
		args = append([]string{"serve", "--data-dir", o.dataDir, "--admin-listen", "127.0.0.1:0",
			"--http-listen", "127.0.0.1:0", "--https-listen", "127.0.0.1:0", "--dns-listen", "127.0.0.1:0"}, args...)
	}
	p := &proc{
		t:       t,
		dataDir: o.dataDir,
		key:     o.key,
		stdout:  newLineBuffer(),
		stderr:  newLineBuffer(),
		exited:  make(chan struct{}),
		client: &http.Client{
			Timeout:   20 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
		},
	}
	p.cmd = exec.Command(binPath, args...)
	p.cmd.Env = append(childEnv(), o.env...)
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	p.cmd.SysProcAttr = childproc.Attr()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", binPath, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		p.client.CloseIdleConnections()
		if t.Failed() {
			t.Logf("stargate %v\n--- stdout ---\n%s--- stderr ---\n%s", args, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// start launches a serving child and waits until /readyz answers 200.
func start(t testing.TB, o startOpts) *proc {
	t.Helper()
	p := launch(t, o)
	p.waitReady()
	return p
}

// childEnv is the test's environment without STARGATE_* variables, so the
// developer's shell (or CI's STARGATE_REQUIRE_ETCD) never configures a child.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STARGATE_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady parses the bound address from stderr, then polls /readyz.
func (p *proc) waitReady() {
	p.t.Helper()
	addr, ok := p.stderr.waitMatch(listenRE, addrTimeout, p.exited)
	if !ok {
		p.t.Fatalf("no %q line on stderr within %v (exited: %v)\nstderr:\n%s", "admin API listening", addrTimeout, p.hasExited(), p.stderr.String())
	}
	p.addr, p.base = addr, "http://"+addr
	deadline := time.Now().Add(readyTimeout)
	for {
		code, _, err := p.do("GET", "/readyz", "-", "")
		if err == nil && code == http.StatusOK {
			return
		}
		if p.hasExited() || time.Now().After(deadline) {
			p.t.Fatalf("/readyz not 200 within %v (last: %d %v; exited: %v)\nstderr:\n%s", readyTimeout, code, err, p.hasExited(), p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// signal sends sig to the child.
func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil && !p.hasExited() {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the child to exit and returns its exit code (-1 when it
// died of a signal).
func (p *proc) wait(timeout time.Duration) (int, bool) {
	select {
	case <-p.exited:
		return p.state.ExitCode(), true
	case <-time.After(timeout):
		return 0, false
	}
}

// kill SIGKILLs the child (if alive) and reaps it.
func (p *proc) kill() {
	if p.hasExited() {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(exitTimeout):
		p.t.Errorf("stargate pid %d did not exit after SIGKILL", p.cmd.Process.Pid)
	}
}

// stop ends the child gracefully and requires a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	code, ok := p.wait(exitTimeout)
	if !ok {
		p.t.Fatalf("stargate did not exit within %v of SIGTERM", exitTimeout)
	}
	if code != 0 {
		p.t.Fatalf("stargate exit code %d after SIGTERM, want 0\nstderr:\n%s", code, p.stderr.String())
	}
}

// do sends one request. key "" means p.key, "-" means no key header.
func (p *proc) do(method, path, key, body string) (int, []byte, error) {
	return p.doCtx(context.Background(), method, path, key, body)
}

func (p *proc) doCtx(ctx context.Context, method, path, key, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if key == "" {
		key = p.key
	}
	if key != "-" && key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// must sends one request and fails the test unless the status is want.
func (p *proc) must(method, path, key, body string, want int) []byte {
	p.t.Helper()
	code, b, err := p.do(method, path, key, body)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	if code != want {
		p.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, b)
	}
	return b
}

// envelope is one object as the admin API returns it.
type envelope struct {
	Key           string          `json:"key"`
	Value         json.RawMessage `json:"value"`
	CreatedIndex  int64           `json:"createdIndex"`
	ModifiedIndex int64           `json:"modifiedIndex"`
}

type listBody struct {
	Total int        `json:"total"`
	List  []envelope `json:"list"`
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, b, err)
	}
	return v
}

// metric returns the value of an unlabelled metric from /metrics.
func (p *proc) metric(name string) (float64, error) {
	code, b, err := p.do("GET", "/metrics", "-", "")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("/metrics: status %d", code)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err != nil {
				return 0, fmt.Errorf("/metrics %s: %v", name, err)
			}
			return v, nil
		}
	}
	return 0, errors.New("/metrics: no " + name)
}

// routeBody is a complete, valid route.
func routeBody(uri, desc string) string {
	return fmt.Sprintf(`{"uri":%q,"desc":%q,"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}}}`, uri, desc)
}
