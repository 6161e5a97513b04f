package e2e

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/testutil/childproc"
	"github.com/stargate-edge/stargate/internal/testutil/dnstest"
)

// h2specVersion is what scripts/test.sh installs (go install
// github.com/summerwind/h2spec/cmd/h2spec@<it>).
const h2specVersion = "v2.2.1+incompatible"

// h2specExpected are the h2spec cases Stargate fails on purpose, each
// with the reason. The test fails if any other case fails, and also if
// one of these starts passing (then it comes off the list).
var h2specExpected = map[string]string{
	// golang.org/x/net/http2 refuses a SETTINGS frame that repeats a
	// setting (a PROTOCOL_ERROR), a guard against settings floods;
	// RFC 9113 allows the repeat.
	"http2/6.5.3|Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE": "x/net refuses repeated settings",
	// x/net answers a request with a connection-specific header, or TE
	// other than "trailers", with a 400 that names the header, where RFC
	// 9113 section 8.2.2 asks for a stream reset. The client learns why.
	"http2/8.1.2.2|Sends a HEADERS frame that contains the connection-specific header field":                       "x/net answers 400",
	"http2/8.1.2.2|Sends a HEADERS frame that contains the TE header field with any value other than \"trailers\"": "x/net answers 400",
}

// h2specPlainOnly are expected failures on the plain port alone: it
// serves HTTP/1.1 too, so bytes that are not the HTTP/2 preface are an
// HTTP/1.1 request, and a malformed one gets 400 rather than a bare close.
var h2specPlainOnly = map[string]string{
	"http2/3.5|Sends invalid connection preface": "the plain port also serves HTTP/1.1",
}

type h2specReport struct {
	Suites []struct {
		Cases []struct {
			Package string    `xml:"package,attr"`
			Name    string    `xml:"classname,attr"`
			Failure *struct{} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// needH2spec finds the h2spec binary: on PATH, or where go install puts it.
func needH2spec(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		dirs := []string{}
		if lines[0] != "" {
			dirs = append(dirs, lines[0])
		}
		if len(lines) > 1 {
			dirs = append(dirs, filepath.Join(lines[1], "bin"))
		}
		for _, d := range dirs {
			if p := filepath.Join(d, "h2spec"); fileExists(p) {
				return p
			}
		}
	}
	msg := "h2spec not installed (go install github.com/summerwind/h2spec/cmd/h2spec@" + h2specVersion + ")"
	if os.Getenv(dnstest.RequireEnv) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// TestH2spec runs the h2spec conformance suite (RFC 9113 and HPACK,
// 145 cases) against the binary's HTTP/2: h2c on the plain port and h2
// over TLS, through a route to a real upstream.
func TestH2spec(t *testing.T) {
	if testing.Short() {
		t.Skip("about 30 s of h2spec; runs in the full suite")
	}
	bin := needH2spec(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, strings.Repeat("h2spec ", 100))
	}))
	defer up.Close()
	p := start(t, startOpts{key: "k", args: []string{"--admin-key", "k"}})
	httpAddr, httpsAddr := proxyAddrs(t, p)
	p.must("PUT", "/api/stargate/v1/routes/all", "", fmt.Sprintf(`{"uri":"/*","upstream":{"nodes":{"%s":1}}}`, strings.TrimPrefix(up.URL, "http://")), 201)
	// h2spec sends the host it dials as the TLS server name.
	cert, key := selfSignedPEM(t, "localhost")
	body, _ := json.Marshal(map[string]any{"cert": cert, "key": key})
	p.must("PUT", "/api/stargate/v1/ssls/local", "", string(body), 201)

	for _, c := range []struct {
		name string
		args []string
	}{
		{"h2c", []string{"-h", "127.0.0.1", "-p", port(t, httpAddr)}},
		{"h2 over TLS", []string{"-h", "localhost", "-p", port(t, httpsAddr), "-t", "-k"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			report := filepath.Join(t.TempDir(), "report.xml")
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append(c.args, "-P", "/h2spec", "-o", "2", "-j", report)...)
			cmd.SysProcAttr = childproc.Attr()
			out, err := cmd.CombinedOutput() // exits 1 when any case fails
			if ctx.Err() != nil {
				t.Fatalf("h2spec did not finish: %v\n%s", ctx.Err(), out)
			}
			raw, rerr := os.ReadFile(report)
			if rerr != nil {
				t.Fatalf("no report (%v, %v):\n%s", err, rerr, out)
			}
			var rep h2specReport
			if err := xml.Unmarshal(raw, &rep); err != nil {
				t.Fatalf("report: %v", err)
			}
			expected := map[string]string{}
			for k, v := range h2specExpected {
				expected[k] = v
			}
			if c.name == "h2c" {
				for k, v := range h2specPlainOnly {
					expected[k] = v
				}
			}
			cases, failed := 0, 0
			for _, s := range rep.Suites {
				for _, tc := range s.Cases {
					cases++
					id := tc.Package + "|" + tc.Name
					bad := tc.Failure != nil || tc.Error != nil
					if tc.Skipped != nil {
						t.Errorf("skipped: %s", id)
					}
					if bad {
						failed++
					}
					if _, ok := expected[id]; ok {
						if !bad {
							t.Errorf("now passes, take it off the expected failures: %s", id)
						}
						continue
					}
					if bad {
						t.Errorf("fails: %s", id)
					}
				}
			}
			if cases < 145 {
				t.Errorf("%d cases in the report, want 145", cases)
			}
			if t.Failed() {
				t.Logf("h2spec output:\n%s", out)
			}
			t.Logf("%d cases, %d failed as expected", cases, failed)
		})
	}
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
