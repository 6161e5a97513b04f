package main

import (
	"bufio"
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
	"regexp"
	"strings"
	"syscall"
	"time"
)

// proc is a child process with its log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

func startProc(name, logPath string, cmd *exec.Cmd) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends SIGTERM, then SIGKILL after 10 s.
func (p *proc) stop() {
	if p == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// cleanEnv drops variables the children would read as configuration.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ETCD_") && !strings.HasPrefix(kv, "STARGATE_") {
			env = append(env, kv)
		}
	}
	return env
}

// startEtcd starts a single-member etcd with its data dir under dir, with
// etcd's default durability and timing (no --unsafe-no-fsync, default
// heartbeat and election timeout), the way an operator would run it.
func startEtcd(ctx context.Context, bin, dir string) (*proc, string, error) {
	var lastErr error
	for range 3 { // ports are found free, released, then bound by etcd: retry a race
		p, ep, err := startEtcdOnce(ctx, bin, dir)
		if err == nil {
			return p, ep, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, "", lastErr
}

func startEtcdOnce(ctx context.Context, bin, dir string) (*proc, string, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, "", err
	}
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	token := make([]byte, 8)
	_, _ = rand.Read(token)
	data := filepath.Join(dir, "etcd-data")
	_ = os.RemoveAll(data)
	cmd := exec.Command(bin,
		"--name", "default",
		"--data-dir", data,
		"--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL,
		"--initial-cluster-state", "new",
		"--initial-cluster-token", "sgbench-"+hex.EncodeToString(token),
		"--logger", "zap",
		"--log-outputs", "stderr",
	)
	p, err := startProc("etcd", filepath.Join(dir, "etcd.log"), cmd)
	if err != nil {
		return nil, "", err
	}
	if err := waitEtcdHealthy(ctx, p, clientURL, 30*time.Second); err != nil {
		tail := p.tail(4096)
		p.stop()
		return nil, "", fmt.Errorf("%w\netcd log tail:\n%s", err, tail)
	}
	return p, clientURL, nil
}

func waitEtcdHealthy(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
		if resp, err := client.Do(req); err == nil {
			var body struct {
				Health string `json:"health"`
			}
			derr := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body)
			resp.Body.Close()
			if derr == nil && resp.StatusCode == http.StatusOK && body.Health == "true" {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("etcd exited before becoming healthy: %v", p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("etcd at %s not healthy after %v", url, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

var listenRE = regexp.MustCompile(`msg="admin API listening" addr=(\S+)`)

// startStargate runs `stargate serve` with every listener on a loopback
// ephemeral port and waits for /readyz; it returns the admin base URL.
func startStargate(ctx context.Context, bin, dir, key string, etcdEndpoint string) (*proc, string, error) {
	args := []string{"serve",
		"--data-dir", filepath.Join(dir, "stargate-data"),
		"--admin-listen", "127.0.0.1:0",
		"--http-listen", "127.0.0.1:0",
		"--https-listen", "127.0.0.1:0",
		"--dns-listen", "127.0.0.1:0",
		"--admin-key", key,
		// info: the admin address is logged at info; nothing is logged per request.
		"--log-level", "info",
	}
	if etcdEndpoint != "" {
		args = append(args, "--store", "etcd", "--etcd-endpoints", etcdEndpoint)
	} else {
		args = append(args, "--store", "bolt")
	}
	cmd := exec.Command(bin, args...)
	p, err := startProc("stargate", filepath.Join(dir, "stargate.log"), cmd)
	if err != nil {
		return nil, "", err
	}
	fail := func(err error) (*proc, string, error) {
		tail := p.tail(4096)
		p.stop()
		return nil, "", fmt.Errorf("%w\nstargate log tail:\n%s", err, tail)
	}
	deadline := time.Now().Add(30 * time.Second)
	var addr string
	for addr == "" {
		if m := listenRE.FindStringSubmatch(readFile(p.logPath)); m != nil {
			addr = m[1]
			break
		}
		select {
		case <-p.exited:
			return fail(fmt.Errorf("stargate exited before listening: %v", p.waitErr))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(errors.New("stargate did not log its admin address within 30s"))
		}
	}
	base := "http://" + addr
	client := &http.Client{Timeout: time.Second}
	for {
		if resp, err := client.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, base, nil
			}
		}
		select {
		case <-p.exited:
			return fail(fmt.Errorf("stargate exited before ready: %v", p.waitErr))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(errors.New("stargate not ready within 30s"))
		}
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// peakRSS is the child's peak resident set (VmHWM) in bytes, 0 if unknown.
func peakRSS(p *proc) int64 {
	if p == nil {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb * 1024
		}
	}
	return 0
}

// buildStargate builds ./cmd/stargate of the module this command runs in.
func buildStargate(ctx context.Context, out string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/stargate")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/stargate in %s: %w", root, err)
	}
	return nil
}
