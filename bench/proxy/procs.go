package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

func (p *proc) pid() int { return p.cmd.Process.Pid }

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

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
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
		if !strings.HasPrefix(kv, "STARGATE_") && !strings.HasPrefix(kv, "GODEBUG=") && !strings.HasPrefix(kv, "GOGC=") &&
			!strings.HasPrefix(kv, "GOMAXPROCS=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			env = append(env, kv)
		}
	}
	return env
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

var (
	adminRE = regexp.MustCompile(`msg="admin API listening" addr=(\S+)`)
	httpRE  = regexp.MustCompile(`msg="proxy listening" proto=http addr=(\S+)`)
)

// stargate is one `stargate serve` process.
type stargate struct {
	p     *proc
	dir   string
	admin string // http://host:port of the admin API
	proxy string // host:port of the plain HTTP proxy listener
}

// startStargate runs `stargate serve` with every listener on a loopback
// ephemeral port, on a bolt store in dir, and waits for /readyz.
func startStargate(ctx context.Context, bin, dir, key string) (*stargate, error) {
	args := []string{"serve",
		"--data-dir", filepath.Join(dir, "data"),
		"--admin-listen", "127.0.0.1:0",
		"--http-listen", "127.0.0.1:0",
		"--https-listen", "127.0.0.1:0",
		"--dns-listen", "127.0.0.1:0",
		"--admin-key", key,
		"--store", "bolt",
		// info: the addresses are logged at info; nothing is logged per request.
		"--log-level", "info",
	}
	p, err := startProc("stargate", filepath.Join(dir, "stargate.log"), exec.Command(bin, args...))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*stargate, error) {
		tail := p.tail(4096)
		p.stop()
		return nil, fmt.Errorf("%w\nstargate log tail:\n%s", err, tail)
	}
	// A store holding 100,000 routes takes a while to load and compile.
	const startLimit = 5 * time.Minute
	deadline := time.Now().Add(startLimit)
	var admin, proxy string
	for admin == "" || proxy == "" {
		log := readFile(p.logPath)
		if m := adminRE.FindStringSubmatch(log); m != nil {
			admin = m[1]
		}
		if m := httpRE.FindStringSubmatch(log); m != nil {
			proxy = m[1]
		}
		if admin != "" && proxy != "" {
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
			return fail(fmt.Errorf("stargate did not log its admin and proxy addresses within %v", startLimit))
		}
	}
	s := &stargate{p: p, dir: dir, admin: "http://" + admin, proxy: proxy}
	client := &http.Client{Timeout: time.Second}
	for {
		if resp, err := client.Get(s.admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
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
			return fail(fmt.Errorf("stargate not ready within %v", startLimit))
		}
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// memInfo is a process's memory from /proc/PID/status, in bytes.
type memInfo struct {
	rss, rssAnon, rssFile, hwm int64
}

func readMem(pid int) memInfo {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memInfo{}
	}
	defer f.Close()
	var m memInfo
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &m.rss
		case "RssAnon":
			dst = &m.rssAnon
		case "RssFile":
			dst = &m.rssFile
		case "VmHWM":
			dst = &m.hwm
		default:
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		*dst = kb * 1024
	}
	return m
}

// childPIDs lists the processes whose parent is ppid (nginx workers).
func childPIDs(ppid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			out = append(out, pid)
		}
	}
	return out
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
