package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var generatedKeyRE = regexp.MustCompile(`Generated admin API key \(saved to (.+)\): (\S+)`)

// generatedKey returns the key p printed on stdout, failing unless it
// printed exactly one such line.
func generatedKey(t *testing.T, p *proc) (file, key string) {
	t.Helper()
	out := p.stdout.String()
	all := generatedKeyRE.FindAllStringSubmatch(out, -1)
	if len(all) != 1 {
		t.Fatalf("stdout has %d %q lines, want exactly 1:\n%s", len(all), "Generated admin API key", out)
	}
	return all[0][1], all[0][2]
}

// TestAdminKeyGeneration: with no key configured, one is generated, printed
// once, stored 0600 and reused; a configured key overrides it.
func TestAdminKeyGeneration(t *testing.T) {
	dataDir := t.TempDir()
	keyFile := filepath.Join(dataDir, "admin.key")

	// First start: a key is generated, printed once, written 0600.
	p := start(t, startOpts{dataDir: dataDir})
	file, key := generatedKey(t, p)
	if file != keyFile {
		t.Errorf("key saved to %q, want %q", file, keyFile)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(key) {
		t.Errorf("generated key %q: want 128 random bits in hex", key)
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v, want 0600", keyFile, fi.Mode().Perm())
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != key {
		t.Errorf("%s holds %q, printed key %q", keyFile, b, key)
	}
	if strings.Contains(p.stderr.String(), key) {
		t.Error("the generated key is written to the log (stderr)")
	}
	checkKeys(t, p, []string{key}, []string{"wrong-key"})
	p.stop()

	// Restart: nothing printed, same file, same key works.
	p = start(t, startOpts{dataDir: dataDir})
	if out := p.stdout.String(); strings.Contains(out, "Generated") || strings.Contains(out, key) {
		t.Errorf("restart printed to stdout again:\n%s", out)
	}
	if b2, _ := os.ReadFile(keyFile); string(b2) != string(b) {
		t.Errorf("restart changed %s: %q -> %q", keyFile, b, b2)
	}
	checkKeys(t, p, []string{key}, []string{"wrong-key"})
	p.stop()

	// --admin-key overrides the stored key.
	p = start(t, startOpts{dataDir: dataDir, args: []string{"--admin-key", "flag-key-X"}})
	if out := p.stdout.String(); out != "" {
		t.Errorf("with --admin-key stdout = %q, want nothing", out)
	}
	checkKeys(t, p, []string{"flag-key-X"}, []string{key})
	p.stop()
	if b2, _ := os.ReadFile(keyFile); string(b2) != string(b) {
		t.Errorf("--admin-key changed %s: %q -> %q", keyFile, b, b2)
	}

	// A fresh data dir with --admin-key: no key file is generated.
	fresh := t.TempDir()
	p = start(t, startOpts{dataDir: fresh, args: []string{"--admin-key", "flag-key-Y"}})
	checkKeys(t, p, []string{"flag-key-Y"}, nil)
	p.stop()
	if _, err := os.Stat(filepath.Join(fresh, "admin.key")); !os.IsNotExist(err) {
		t.Errorf("admin.key written although --admin-key was given (stat: %v)", err)
	}
}

// checkKeys: without a key a request is 401; each of ok reads (200); each
// of bad is 401. GET on the list needs a key, /healthz and /readyz do not.
func checkKeys(t *testing.T, p *proc, ok, bad []string) {
	t.Helper()
	const path = "/apisix/admin/routes"
	for _, c := range []struct {
		desc, path, key string
		want            int
	}{
		{desc: "no key", path: path, key: "-", want: http.StatusUnauthorized},
		{desc: "no key, other prefix", path: "/api/stargate/v1/routes", key: "-", want: http.StatusUnauthorized},
		{desc: "healthz needs no key", path: "/healthz", key: "-", want: http.StatusOK},
		{desc: "readyz needs no key", path: "/readyz", key: "-", want: http.StatusOK},
	} {
		code, body, err := p.do("GET", c.path, c.key, "")
		if err != nil || code != c.want {
			t.Errorf("%s: GET %s = %d %s %v, want %d", c.desc, c.path, code, body, err, c.want)
		}
	}
	for _, k := range ok {
		for _, pth := range []string{path, "/api/stargate/v1/routes"} {
			if code, body, err := p.do("GET", pth, k, ""); err != nil || code != http.StatusOK {
				t.Errorf("key %q: GET %s = %d %s %v, want 200", k, pth, code, body, err)
			}
		}
	}
	for _, k := range bad {
		if code, body, err := p.do("GET", path, k, ""); err != nil || code != http.StatusUnauthorized {
			t.Errorf("key %q: GET %s = %d %s %v, want 401", k, path, code, body, err)
		}
	}
}
