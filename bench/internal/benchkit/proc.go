package benchkit

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/stargate-edge/stargate/internal/testutil/childproc"
)

// Proc is a child process whose stdout and stderr go to a log file, with
// its exit observed by a goroutine so that callers can select on it.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string
	exited  chan struct{}
	waitErr error
}

// StartProc starts cmd with its output in a new file at logPath, an
// environment without the variables whose names start with one of
// dropEnv (see CleanEnv), and childproc.Attr, so that a benchmark that dies
// does not leave it running.
func StartProc(name, logPath string, cmd *exec.Cmd, dropEnv []string) (*Proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = CleanEnv(dropEnv)
	cmd.SysProcAttr = childproc.Attr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Exited is closed once the child has exited and WaitErr is set.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// WaitErr is what waiting for the child returned; nil while it runs.
func (p *Proc) WaitErr() error {
	select {
	case <-p.exited:
		return p.waitErr
	default:
		return nil
	}
}

// Alive reports whether the child has not exited yet.
func (p *Proc) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM, then SIGKILL after 10 s, and waits for the exit. A
// nil or already exited Proc is left alone.
func (p *Proc) Stop() {
	if p == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.exited
	}
}

// Tail is about the last n bytes of the child's log, from a line start,
// for error messages.
func (p *Proc) Tail(n int) string {
	b, err := os.ReadFile(p.LogPath)
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

// CleanEnv is this process's environment without the variables whose
// "NAME=value" starts with one of drop: the ones a child would read as
// configuration (STARGATE_*, ETCD_*, GOGC=, ...) and that would make the
// measured setup differ from the one the report describes.
func CleanEnv(drop []string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, d := range drop {
			if strings.HasPrefix(kv, d) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// FreePorts finds n distinct free loopback TCP ports. They are released
// before it returns, so a child binding one can race another process:
// callers retry a failed start.
func FreePorts(n int) ([]int, error) {
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

// ReadFile is the file's content, "" if it cannot be read: for logs that
// may not exist yet.
func ReadFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
