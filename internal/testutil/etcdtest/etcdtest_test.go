package etcdtest_test

import (
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/stargate-edge/stargate/internal/testutil/etcdtest"
)

func TestStartStop(t *testing.T) {
	s := etcdtest.Start(t)
	resp, err := http.Get(s.Endpoints()[0] + "/health")
	if err != nil {
		t.Fatalf("GET /health: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /health: %s", resp.Status)
	}
	logPath := s.LogPath()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(logPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("log file after Stop: %v, want it removed with the data", err)
	}
	if _, err := http.Get(s.Endpoints()[0] + "/health"); err == nil {
		t.Fatal("server still answers after Stop")
	}
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	s, err := etcdtest.StartServer()
	if !errors.Is(err, etcdtest.ErrNoBinary) {
		t.Fatalf("StartServer without etcd on PATH: %v, %v; want ErrNoBinary", s, err)
	}
	if err := s.Stop(); err != nil { // nil-safe
		t.Fatalf("Stop on nil: %v", err)
	}
}
