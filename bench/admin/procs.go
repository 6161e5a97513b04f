package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

// childEnv is the environment prefixes the children (etcd, stargate) must
// not inherit: they would read them as configuration.
var childEnv = []string{"ETCD_", "STARGATE_"}

// startEtcd starts a single-member etcd with its data dir under dir, with
// etcd's default durability and timing (no --unsafe-no-fsync, default
// heartbeat and election timeout), the way an operator would run it.
func startEtcd(ctx context.Context, bin, dir string) (*benchkit.Proc, string, error) {
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

func startEtcdOnce(ctx context.Context, bin, dir string) (*benchkit.Proc, string, error) {
	ports, err := benchkit.FreePorts(2)
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
	p, err := benchkit.StartProc("etcd", filepath.Join(dir, "etcd.log"), cmd, childEnv)
	if err != nil {
		return nil, "", err
	}
	if err := waitEtcdHealthy(ctx, p, clientURL, 30*time.Second); err != nil {
		tail := p.Tail(4096)
		p.Stop()
		return nil, "", fmt.Errorf("%w\netcd log tail:\n%s", err, tail)
	}
	return p, clientURL, nil
}

func waitEtcdHealthy(ctx context.Context, p *benchkit.Proc, url string, timeout time.Duration) error {
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
		case <-p.Exited():
			return fmt.Errorf("etcd exited before becoming healthy: %v", p.WaitErr())
		case <-ctx.Done():
			return fmt.Errorf("etcd at %s not healthy after %v", url, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startStargate starts a stargate on the bolt store, or on etcd at
// etcdEndpoint when it is not "", and returns it with its admin base URL.
func startStargate(ctx context.Context, bin, dir, key string, etcdEndpoint string) (*benchkit.Proc, string, error) {
	store := []string{"--store", "bolt"}
	if etcdEndpoint != "" {
		store = []string{"--store", "etcd", "--etcd-endpoints", etcdEndpoint}
	}
	sg, err := benchkit.StartStargate(ctx, benchkit.StargateConfig{
		Bin: bin, Dir: dir, DataDir: filepath.Join(dir, "stargate-data"), AdminKey: key,
		Store: store, Limit: 30 * time.Second, DropEnv: childEnv,
	})
	if err != nil {
		return nil, "", err
	}
	return sg.P, sg.Admin, nil
}

// peakRSS is the child's peak resident set (VmHWM) in bytes, 0 if unknown.
func peakRSS(p *benchkit.Proc) int64 {
	if p == nil {
		return 0
	}
	return benchkit.ReadMem(p.Pid()).HWM
}
