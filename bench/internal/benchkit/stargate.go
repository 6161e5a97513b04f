package benchkit

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// BuildStargate builds ./cmd/stargate of the module this command runs in
// into out.
func BuildStargate(ctx context.Context, out string) error {
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

// StargateBinary is bin when given (a -bin flag); otherwise it builds
// ./cmd/stargate into work and returns that path, so a run measures the
// checkout it is started from.
func StargateBinary(ctx context.Context, bin, work string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(work, "stargate")
	Logf("building ./cmd/stargate -> %s", bin)
	if err := BuildStargate(ctx, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// StargateConfig is how StartStargate runs one `stargate serve`.
type StargateConfig struct {
	Bin      string
	Dir      string // holds stargate.log
	DataDir  string // --data-dir
	AdminKey string
	// Store is the store's flags, e.g. {"--store", "bolt"}.
	Store []string
	// Limit bounds the start: logging the listen addresses, then /readyz.
	Limit time.Duration
	// Proxy also waits for the plain HTTP proxy listener's address.
	Proxy bool
	// DropEnv is the environment prefixes the process must not see (see
	// CleanEnv).
	DropEnv []string
}

// Stargate is one running `stargate serve`.
type Stargate struct {
	P     *Proc
	Admin string // http://host:port of the admin API
	Proxy string // host:port of the plain HTTP proxy listener, when asked for
}

var (
	adminRE = regexp.MustCompile(`msg="admin API listening" addr=(\S+)`)
	httpRE  = regexp.MustCompile(`msg="proxy listening" proto=http addr=(\S+)`)
)

// StartStargate runs `stargate serve` with every listener on a loopback
// ephemeral port, finds the addresses it logs, and waits for /readyz. On
// error the process is stopped and the error carries its log's tail.
func StartStargate(ctx context.Context, c StargateConfig) (*Stargate, error) {
	args := []string{"serve",
		"--data-dir", c.DataDir,
		"--admin-listen", "127.0.0.1:0",
		"--http-listen", "127.0.0.1:0",
		"--https-listen", "127.0.0.1:0",
		"--dns-listen", "127.0.0.1:0",
		"--admin-key", c.AdminKey,
	}
	args = append(args, c.Store...)
	// info: the addresses are logged at info; nothing is logged per request.
	args = append(args, "--log-level", "info")
	p, err := StartProc("stargate", filepath.Join(c.Dir, "stargate.log"), exec.Command(c.Bin, args...), c.DropEnv)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Stargate, error) {
		tail := p.Tail(4096)
		p.Stop()
		return nil, fmt.Errorf("%w\nstargate log tail:\n%s", err, tail)
	}
	what := "admin address"
	if c.Proxy {
		what = "admin and proxy addresses"
	}
	deadline := time.Now().Add(c.Limit)
	var admin, proxy string
	for {
		log := ReadFile(p.LogPath)
		if m := adminRE.FindStringSubmatch(log); m != nil {
			admin = m[1]
		}
		if m := httpRE.FindStringSubmatch(log); c.Proxy && m != nil {
			proxy = m[1]
		}
		if admin != "" && (proxy != "" || !c.Proxy) {
			break
		}
		select {
		case <-p.Exited():
			return fail(fmt.Errorf("stargate exited before listening: %v", p.WaitErr()))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("stargate did not log its %s within %v", what, c.Limit))
		}
	}
	s := &Stargate{P: p, Admin: "http://" + admin, Proxy: proxy}
	client := &http.Client{Timeout: time.Second}
	for {
		if resp, err := client.Get(s.Admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-p.Exited():
			return fail(fmt.Errorf("stargate exited before ready: %v", p.WaitErr()))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("stargate not ready within %v", c.Limit))
		}
	}
}
