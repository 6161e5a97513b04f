package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigPrecedence: flag > env > YAML > default, checked by which keys
// the admin API accepts and where the store file is created.
func TestConfigPrecedence(t *testing.T) {
	const base = "admin_listen: 127.0.0.1:0\nhttp_listen: 127.0.0.1:0\nhttps_listen: 127.0.0.1:0\ndns_listen: 127.0.0.1:0\ndata_dir: {Y}\n"
	tests := []struct {
		desc string
		yaml string // {Y}, {E}, {F} are the yaml/env/flag data dirs
		// configEnv passes the file as STARGATE_CONFIG instead of --config.
		configEnv bool
		env       []string
		flags     []string
		admin     []string // keys that may write
		viewer    []string // keys that may read but not write
		rejected  []string // keys that get 401
		generated bool     // a key is generated (and may write)
		dbIn      string   // "Y", "E" or "F": where stargate.db must appear
	}{
		{
			desc:     "yaml only",
			yaml:     base + "admin_key: k-yaml\nadmin_keys:\n  - {name: ro, key: k-view-yaml, role: viewer}\n",
			admin:    []string{"k-yaml"},
			viewer:   []string{"k-view-yaml"},
			rejected: []string{"k-env", "k-flag"},
			dbIn:     "Y",
		},
		{
			desc:     "env over yaml",
			yaml:     base + "admin_key: k-yaml\nadmin_keys:\n  - {name: ro, key: k-view-yaml, role: viewer}\n",
			env:      []string{"STARGATE_ADMIN_KEY=k-env", "STARGATE_DATA_DIR={E}"},
			admin:    []string{"k-env"},
			viewer:   []string{"k-view-yaml"},
			rejected: []string{"k-yaml", "k-flag"},
			dbIn:     "E",
		},
		{
			desc:     "flag over env over yaml",
			yaml:     base + "admin_key: k-yaml\n",
			env:      []string{"STARGATE_ADMIN_KEY=k-env", "STARGATE_DATA_DIR={E}"},
			flags:    []string{"--admin-key", "k-flag", "--data-dir", "{F}"},
			admin:    []string{"k-flag"},
			rejected: []string{"k-yaml", "k-env"},
			dbIn:     "F",
		},
		{
			desc:     "flag over yaml",
			yaml:     base + "admin_key: k-yaml\n",
			flags:    []string{"--admin-key=k-flag"},
			admin:    []string{"k-flag"},
			rejected: []string{"k-yaml"},
			dbIn:     "Y",
		},
		{
			desc:     "viewer key flag over env over yaml",
			yaml:     base + "admin_key: k-yaml\nviewer_key: v-yaml\n",
			env:      []string{"STARGATE_VIEWER_KEY=v-env"},
			flags:    []string{"--viewer-key", "v-flag"},
			admin:    []string{"k-yaml"},
			viewer:   []string{"v-flag"},
			rejected: []string{"v-env", "v-yaml"},
			dbIn:     "Y",
		},
		{
			desc:     "env admin_listen over an unbindable yaml one",
			yaml:     "admin_listen: 192.0.2.1:9\ndata_dir: {Y}\nadmin_key: k-yaml\n",
			env:      []string{"STARGATE_ADMIN_LISTEN=127.0.0.1:0"},
			admin:    []string{"k-yaml"},
			rejected: []string{"k-env"},
			dbIn:     "Y",
		},
		{
			desc:      "config file named by STARGATE_CONFIG",
			yaml:      base + "admin_key: k-yaml\n",
			configEnv: true,
			admin:     []string{"k-yaml"},
			dbIn:      "Y",
		},
		{
			desc:      "default: generated key when yaml names only a viewer",
			yaml:      base + "admin_keys:\n  - {name: ro, key: k-view-yaml, role: viewer}\n",
			viewer:    []string{"k-view-yaml"},
			rejected:  []string{"k-yaml"},
			generated: true,
			dbIn:      "Y",
		},
		{
			desc:     "yaml admin_keys entry with the admin role",
			yaml:     base + "admin_keys:\n  - {name: ops, key: k-ops, role: admin}\n  - {name: ro, key: k-view-yaml, role: viewer}\n",
			admin:    []string{"k-ops"},
			viewer:   []string{"k-view-yaml"},
			rejected: []string{"k-yaml"},
			dbIn:     "Y",
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			dirs := map[string]string{}
			repl := []string{}
			for _, d := range []string{"Y", "E", "F"} {
				dirs[d] = filepath.Join(root, d)
				repl = append(repl, "{"+d+"}", dirs[d])
			}
			r := strings.NewReplacer(repl...)
			file := filepath.Join(root, "stargate.yaml")
			if err := os.WriteFile(file, []byte(r.Replace(tc.yaml)), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"serve"}
			var env []string
			if tc.configEnv {
				env = append(env, "STARGATE_CONFIG="+file)
			} else {
				args = append(args, "--config", file)
			}
			for _, f := range tc.flags {
				args = append(args, r.Replace(f))
			}
			for _, e := range tc.env {
				env = append(env, r.Replace(e))
			}
			p := start(t, startOpts{raw: true, args: args, env: env})

			admin := tc.admin
			if tc.generated {
				_, k := generatedKey(t, p)
				admin = append(admin, k)
			} else if out := p.stdout.String(); out != "" {
				t.Errorf("stdout = %q, want nothing (an admin key is configured)", out)
			}
			for i, k := range admin {
				p.must("GET", "/apisix/admin/routes", k, "", http.StatusOK)
				p.must("PUT", fmt.Sprintf("/apisix/admin/routes/prec-%d", i), k, routeBody(fmt.Sprintf("/prec/%d", i), "x"), http.StatusCreated)
			}
			for _, k := range tc.viewer {
				p.must("GET", "/apisix/admin/routes", k, "", http.StatusOK)
				b := p.must("PUT", "/apisix/admin/routes/viewer", k, routeBody("/viewer", "x"), http.StatusUnauthorized)
				if !strings.Contains(string(b), "invalid method for role viewer") {
					t.Errorf("viewer PUT: %s", b)
				}
			}
			for _, k := range tc.rejected {
				p.must("GET", "/apisix/admin/routes", k, "", http.StatusUnauthorized)
			}
			for d, dir := range dirs {
				_, err := os.Stat(filepath.Join(dir, "stargate.db"))
				if d == tc.dbIn && err != nil {
					t.Errorf("store not in the %s data dir: %v", d, err)
				}
				if d != tc.dbIn && err == nil {
					t.Errorf("store created in the %s data dir, want only in %s", d, tc.dbIn)
				}
			}
			p.stop()
		})
	}
}

// TestConfigInvalid: a bad config is refused before anything starts: exit
// code 2, one clear message on stderr, no panic, nothing written.
func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		desc string
		yaml string // written to a file passed with --config when set
		env  []string
		args []string
		want string // on stderr
	}{
		{desc: "unknown role", args: []string{"--role", "nope"}, want: `role "nope": want all, control or edge`},
		{desc: "unknown role from env", env: []string{"STARGATE_ROLE=nope"}, want: `role "nope": want all, control or edge`},
		{desc: "etcd store without endpoints", args: []string{"--store", "etcd"}, want: "store etcd needs --etcd-endpoints"},
		{desc: "unknown store", args: []string{"--store", "mysql"}, want: `store "mysql": want bolt or etcd`},
		{desc: "edge role on the embedded store", args: []string{"--role", "edge"}, want: `role "edge" needs a shared store`},
		{desc: "bad listen address", args: []string{"--admin-listen", "nonsense"}, want: `admin-listen "nonsense"`},
		{desc: "bad log level", args: []string{"--log-level", "loud"}, want: `log-level "loud"`},
		{desc: "unknown flag", args: []string{"--bogus"}, want: "flag provided but not defined: -bogus"},
		{desc: "stray argument", args: []string{"extra"}, want: `unexpected argument "extra"`},
		{desc: "missing config file", args: []string{"--config", "/nonexistent/stargate.yaml"}, want: "/nonexistent/stargate.yaml"},
		{desc: "unknown yaml key", yaml: "bogus_key: 1\n", want: "field bogus_key not found"},
		{desc: "yaml syntax error", yaml: "admin_key: [unclosed\n", want: "stargate.yaml"},
		{desc: "yaml wrong type", yaml: "admin_listen: [1, 2]\n", want: "cannot unmarshal"},
		{desc: "yaml bad key role", yaml: "admin_keys:\n  - {name: x, key: y, role: root}\n", want: `admin_keys[0]: role "root": want admin or viewer`},
		{desc: "yaml empty key", yaml: "admin_keys:\n  - {name: x, role: viewer}\n", want: "admin_keys[0]: empty key"},
		{desc: "yaml auth off on a public listener", yaml: "admin_key_required: false\nadmin_listen: 0.0.0.0:0\n", want: "admin_key_required: false is only allowed with a loopback admin-listen"},
		{desc: "yaml bad cache zone", yaml: "cache_zones:\n  - {name: z, kind: tape, size: 1}\n", want: `kind "tape": want memory or disk`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			dataDir := filepath.Join(root, "data") // must not be created
			args := []string{"serve", "--data-dir", dataDir}
			if tc.yaml != "" {
				file := filepath.Join(root, "stargate.yaml")
				if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", file)
			}
			args = append(args, tc.args...)
			p := launch(t, startOpts{raw: true, args: args, env: tc.env})
			code, ok := p.wait(10 * time.Second)
			if !ok {
				t.Fatalf("still running 10s after start with an invalid config\nstderr:\n%s", p.stderr.String())
			}
			stderr := p.stderr.String()
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
			for _, bad := range []string{"panic", "goroutine ", "admin API listening"} {
				if strings.Contains(stderr, bad) {
					t.Errorf("stderr contains %q:\n%s", bad, stderr)
				}
			}
			if out := p.stdout.String(); out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Errorf("data dir created although the config was refused (stat: %v)", err)
			}
		})
	}
}

// TestVersion: `stargate version` prints the version stamped at build time
// and exits 0; `stargate help` exits 0.
func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		desc string
		args []string
		want string // exact stdout
	}{
		{desc: "version", args: []string{"version"}, want: "stargate " + testVersion + "\n"},
		{desc: "help", args: []string{"help"}, want: ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p := launch(t, startOpts{raw: true, args: tc.args})
			code, ok := p.wait(10 * time.Second)
			if !ok {
				t.Fatal("did not exit within 10s")
			}
			if code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
			out := p.stdout.String()
			if tc.want != "" && out != tc.want {
				t.Errorf("stdout = %q, want %q", out, tc.want)
			}
			if tc.want == "" && !strings.Contains(out, "usage") {
				t.Errorf("stdout = %q, want a usage line", out)
			}
			if s := p.stderr.String(); s != "" {
				t.Errorf("stderr = %q, want nothing", s)
			}
		})
	}
}
