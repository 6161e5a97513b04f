package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("admin_key: from-yaml\nviewer_key: viewer-yaml\nadmin_listen: 127.0.0.1:9999\nadmin_keys:\n  - {name: ci, key: k2, role: viewer}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		desc       string
		args       []string
		env        map[string]string
		wantKey    string
		wantListen string
	}{
		{"defaults", nil, nil, "", "127.0.0.1:9080"},
		{"yaml", []string{"--config", file}, nil, "from-yaml", "127.0.0.1:9999"},
		{"config file from env", nil, map[string]string{"STARGATE_CONFIG": file}, "from-yaml", "127.0.0.1:9999"},
		{"env beats yaml", []string{"--config", file}, map[string]string{"STARGATE_ADMIN_KEY": "from-env"}, "from-env", "127.0.0.1:9999"},
		{"flag beats env", []string{"--config", file, "--admin-key", "from-flag"}, map[string]string{"STARGATE_ADMIN_KEY": "from-env"}, "from-flag", "127.0.0.1:9999"},
		{"flag beats yaml", []string{"--config", file, "--admin-listen", "127.0.0.1:0"}, nil, "from-yaml", "127.0.0.1:0"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			cfg, err := config.Load(c.args, env(c.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AdminKey != c.wantKey || cfg.AdminListen != c.wantListen {
				t.Errorf("admin key %q listen %q, want %q %q", cfg.AdminKey, cfg.AdminListen, c.wantKey, c.wantListen)
			}
		})
	}
	cfg, _ := config.Load([]string{"--config", file}, env(nil))
	if len(cfg.AdminKeys) != 1 || cfg.AdminKeys[0].Role != "viewer" || cfg.ViewerKey != "viewer-yaml" {
		t.Errorf("file-only keys: %+v %q", cfg.AdminKeys, cfg.ViewerKey)
	}
	cfg, _ = config.Load([]string{"--etcd-endpoints", "http://a:1, http://b:2", "--store", "etcd"}, env(nil))
	if strings.Join(cfg.EtcdEndpoints, "|") != "http://a:1|http://b:2" {
		t.Errorf("endpoints %q", cfg.EtcdEndpoints)
	}
}

func TestInvalid(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("nope: 1\n"), 0o600)
	open := filepath.Join(dir, "open.yaml")
	_ = os.WriteFile(open, []byte("admin_key_required: false\nadmin_listen: 0.0.0.0:9080\n"), 0o600)
	for _, c := range []struct {
		desc string
		args []string
		want string
	}{
		{"role", []string{"--role", "nope"}, `role "nope"`},
		{"store", []string{"--store", "redis"}, `store "redis"`},
		{"etcd without endpoints", []string{"--store", "etcd"}, "needs --etcd-endpoints"},
		{"split roles need etcd", []string{"--role", "edge"}, "needs a shared store"},
		{"listen address", []string{"--admin-listen", "nohost"}, "admin-listen"},
		{"unknown yaml key", []string{"--config", bad}, "field nope not found"},
		{"missing file", []string{"--config", filepath.Join(dir, "none.yaml")}, "no such file"},
		{"open admin without keys", []string{"--config", open}, "only allowed with a loopback admin-listen"},
		{"log level", []string{"--log-level", "loud"}, "log-level"},
		{"stray argument", []string{"extra"}, "unexpected argument"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			_, err := config.Load(c.args, env(nil))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}
