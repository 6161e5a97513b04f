package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The layering rules of DESIGN.md section 2, checked on the import graph
// that `go list` reports for the module's (non-test) packages:
//
//  1. the data plane (internal/proxy, internal/cache, internal/authdns,
//     internal/plugin and everything below them) never depends on
//     internal/admin, directly or through another package;
//  2. nothing imports a package under cmd/ (test files included);
//  3. only cmd/stargate wires packages together: no other package depends
//     (directly or transitively) on more than one of internal/admin,
//     internal/store/boltstore and internal/store/etcdstore.
const module = "github.com/stargate-edge/stargate"

var (
	dataPlane = []string{"internal/proxy", "internal/cache", "internal/authdns", "internal/plugin"}
	wiredPkgs = []string{"internal/admin", "internal/store/boltstore", "internal/store/etcdstore"}
	wiringPkg = "cmd/stargate"
)

// goPkg is the part of `go list -json` the rules need.
type goPkg struct {
	ImportPath   string
	Name         string
	Dir          string
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

// under reports whether import path p is the module package rel or below it.
func under(p, rel string) bool {
	full := module + "/" + rel
	return p == full || strings.HasPrefix(p, full+"/")
}

// testSupport reports whether a package exists only to help tests (under
// internal/testutil, or named like storetest): such packages may wire
// real components together, as a test does.
func testSupport(p goPkg) bool {
	return under(p.ImportPath, "internal/testutil") || strings.HasSuffix(p.Name, "test")
}

// layeringViolations applies the rules to a package list.
func layeringViolations(pkgs []goPkg) []string {
	var out []string
	for _, p := range pkgs {
		if slices.ContainsFunc(dataPlane, func(r string) bool { return under(p.ImportPath, r) }) && !testSupport(p) {
			for _, d := range append(slices.Clone(p.Imports), p.Deps...) {
				if under(d, "internal/admin") {
					out = append(out, fmt.Sprintf("data plane package %s depends on %s", p.ImportPath, d))
					break
				}
			}
		}
		for _, imps := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			for _, d := range imps {
				if under(d, "cmd") && d != p.ImportPath {
					out = append(out, fmt.Sprintf("%s imports %s: nothing may import cmd/", p.ImportPath, d))
				}
			}
		}
		if p.ImportPath != module+"/"+wiringPkg && !testSupport(p) {
			var wired []string
			for _, w := range wiredPkgs {
				if slices.Contains(p.Imports, module+"/"+w) || slices.Contains(p.Deps, module+"/"+w) {
					wired = append(wired, w)
				}
			}
			if len(wired) > 1 {
				out = append(out, fmt.Sprintf("%s depends on %s: only %s wires these together", p.ImportPath, strings.Join(wired, " and "), wiringPkg))
			}
		}
	}
	sort.Strings(out)
	return out
}

// goList runs `go list -e -json` over the module, optionally with an
// overlay (extra files that exist only for this command).
func goList(t *testing.T, overlay map[string]string) []goPkg {
	t.Helper()
	if repoRoot == "" {
		t.Fatal("repository root unknown")
	}
	args := []string{"list", "-e", "-json=ImportPath,Name,Dir,Imports,Deps,TestImports,XTestImports,Error"}
	if len(overlay) > 0 {
		dir := t.TempDir()
		repl := map[string]string{}
		i := 0
		for path, content := range overlay {
			f := filepath.Join(dir, fmt.Sprintf("f%d.go", i))
			i++
			if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			repl[path] = f
		}
		b, _ := json.Marshal(map[string]any{"Replace": repl})
		of := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(of, b, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-overlay", of)
	}
	args = append(args, "./...")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var pkgs []goPkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestLayering checks the rules on the current tree, and proves on the
// same tree, through `go list -overlay` (nothing is written to the tree),
// that each rule fails when it is broken.
func TestLayering(t *testing.T) {
	pkgs := goList(t, nil)
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; wrong directory?", len(pkgs))
	}
	found := false
	for _, p := range pkgs {
		found = found || p.ImportPath == module+"/"+wiringPkg
		if p.Error != nil {
			t.Logf("note: go list: %s: %s", p.ImportPath, p.Error.Err)
		}
	}
	if !found {
		t.Fatalf("%s not among the listed packages", wiringPkg)
	}
	if v := layeringViolations(pkgs); len(v) > 0 {
		t.Errorf("layering violations:\n  %s", strings.Join(v, "\n  "))
	}

	t.Run("broken tree is caught", func(t *testing.T) {
		// Pick a data-plane package and a leaf package that the wired
		// packages do not depend on (so the injected imports form no cycle).
		byPath := map[string]goPkg{}
		for _, p := range pkgs {
			byPath[p.ImportPath] = p
		}
		depsOf := func(rels ...string) map[string]bool {
			out := map[string]bool{}
			for _, r := range rels {
				out[module+"/"+r] = true
				for _, d := range byPath[module+"/"+r].Deps {
					out[d] = true
				}
			}
			return out
		}
		adminDeps := depsOf("internal/admin")
		wiredDeps := depsOf(append(slices.Clone(wiredPkgs), wiringPkg)...)
		backendDeps := depsOf(wiredPkgs...)
		var plane, leaf, wireLeaf *goPkg
		for i := range pkgs {
			p := &pkgs[i]
			if p.Name == "" || p.Name == "main" || p.Dir == "" || p.Error != nil {
				continue
			}
			isPlane := slices.ContainsFunc(dataPlane, func(r string) bool { return under(p.ImportPath, r) })
			if isPlane && plane == nil && !adminDeps[p.ImportPath] && !testSupport(*p) {
				plane = p
			}
			// Importing cmd must not make a cycle: a package cmd does not
			// depend on (a test-support one).
			if !isPlane && leaf == nil && !wiredDeps[p.ImportPath] && under(p.ImportPath, "internal") {
				leaf = p
			}
			// Wiring is judged on production packages only.
			if !isPlane && wireLeaf == nil && !backendDeps[p.ImportPath] && under(p.ImportPath, "internal") && !testSupport(*p) {
				wireLeaf = p
			}
		}
		if plane == nil || leaf == nil || wireLeaf == nil {
			t.Fatalf("no package to inject into (data plane %v, leaf %v, wiring %v)", plane != nil, leaf != nil, wireLeaf != nil)
		}
		imp := func(pkg *goPkg, paths ...string) string {
			s := "package " + pkg.Name + "\n\nimport (\n"
			for _, p := range paths {
				s += "\t_ \"" + module + "/" + p + "\"\n"
			}
			return s + ")\n"
		}
		for _, tc := range []struct {
			desc     string
			pkg      *goPkg
			imports  []string
			wantText string
		}{
			{"data plane imports admin", plane, []string{"internal/admin"}, "data plane package " + plane.ImportPath + " depends on " + module + "/internal/admin"},
			{"package imports cmd", leaf, []string{wiringPkg}, leaf.ImportPath + " imports " + module + "/" + wiringPkg},
			{"wiring outside cmd", wireLeaf, []string{"internal/store/boltstore", "internal/store/etcdstore"}, wireLeaf.ImportPath + " depends on internal/store/boltstore and internal/store/etcdstore"},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				file := filepath.Join(tc.pkg.Dir, "zz_layering_probe.go")
				broken := goList(t, map[string]string{file: imp(tc.pkg, tc.imports...)})
				v := layeringViolations(broken)
				t.Logf("injected imports of %s into %s: %d violation(s) %q", tc.imports, tc.pkg.ImportPath, len(v), v)
				if !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, tc.wantText) }) {
					t.Errorf("injected %s into %s: violations %q, want one containing %q", tc.imports, tc.pkg.ImportPath, v, tc.wantText)
				}
			})
		}
	})

	t.Run("rules on synthetic graphs", func(t *testing.T) {
		m := func(s ...string) []string {
			for i := range s {
				s[i] = module + "/" + s[i]
			}
			return s
		}
		for _, tc := range []struct {
			desc string
			pkg  goPkg
			want int
		}{
			{"cmd wires everything", goPkg{ImportPath: module + "/cmd/stargate", Imports: m("internal/admin", "internal/store/boltstore", "internal/store/etcdstore")}, 0},
			{"plugin uses the registry", goPkg{ImportPath: module + "/internal/plugin/keyauth", Imports: m("internal/plugin"), Deps: m("internal/plugin", "internal/schema")}, 0},
			{"plugin imports admin", goPkg{ImportPath: module + "/internal/plugin/keyauth", Imports: m("internal/admin")}, 1},
			{"proxy reaches admin transitively", goPkg{ImportPath: module + "/internal/proxy/router", Imports: m("internal/snapshot"), Deps: m("internal/snapshot", "internal/admin")}, 1},
			{"cache imports an admin subpackage", goPkg{ImportPath: module + "/internal/cache", Imports: m("internal/admin/auth")}, 1},
			{"authdns test imports cmd", goPkg{ImportPath: module + "/internal/authdns", XTestImports: m("cmd/stargate")}, 1},
			{"admin wires a backend", goPkg{ImportPath: module + "/internal/admin", Imports: m("internal/store/boltstore")}, 0},
			{"admin wires two backends", goPkg{ImportPath: module + "/internal/admin", Imports: m("internal/store/boltstore", "internal/store/etcdstore")}, 1},
			{"a helper wires admin and a backend transitively", goPkg{ImportPath: module + "/internal/server", Deps: m("internal/admin", "internal/store/etcdstore")}, 1},
			{"adminx is not admin", goPkg{ImportPath: module + "/internal/plugin/x", Imports: m("internal/adminx")}, 0},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				if v := layeringViolations([]goPkg{tc.pkg}); len(v) != tc.want {
					t.Errorf("violations %q, want %d", v, tc.want)
				}
			})
		}
	})
}
