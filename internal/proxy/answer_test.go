package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy"
)

// headerFilter is a plugin with a header filter that changes nothing: a
// route with it sends the upstream's answer the usual way, through a
// header map, where a route whose plugins do not look at the answer
// passes its field lines on as they came (plugin.Chain.Passthrough,
// client.Options.RawHead, server.WriteHead).
type headerFilter struct{}

func (headerFilter) HeaderFilter(*plugin.Ctx, int, http.Header) {}

// addFields adds two fields to every answer, one of which (X-C) some
// answers have too: the plugin's value replaces theirs.
type addFields struct{}

func (addFields) Access(c *plugin.Ctx) {
	c.RespHeader.Set("X-Added", "1")
	c.RespHeader.Set("X-C", "plugin")
}

// streamType says the answer is an event stream (for answers without a
// Content-Type of their own).
type streamType struct{}

func (streamType) Access(c *plugin.Ctx) { c.RespHeader.Set("Content-Type", "text/event-stream") }

func init() {
	for name, impl := range map[string]any{"test-header-filter": headerFilter{}, "test-add-fields": addFields{}, "test-stream-type": streamType{}} {
		plugin.Register(plugin.Definition{Name: name, Priority: 1, Schema: []byte(`{"type":"object"}`),
			Transient: true, Inline: true, New: func(map[string]any) (any, error) { return impl, nil }})
	}
}

// TestAnswerFields: routes whose plugins do not look at the answer give
// the client the same answer (status, fields, body) as routes with a
// header filter, for answers of every shape, with and without fields
// plugins add (which replace the answer's of the same name); none passes
// on hop-by-hop fields or those the answer's Connection names, all send a
// single valid Content-Length, and every line ends in CRLF even when the
// upstream's did not. The routes without a filter keep a field name's
// spelling (its lines go out as they came), which shows that they took
// that path.
func TestAnswerFields(t *testing.T) {
	answers := map[string]string{
		"usual": "HTTP/1.1 200 OK\r\nServer: up\r\nDate: Sun, 06 Dec 2026 06:06:40 GMT\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
		"hop": "HTTP/1.1 200 OK\r\nX-A: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nTe: t\r\nTrailer: X-T\r\nUpgrade: h2c\r\n" +
			"Proxy-Authenticate: Basic\r\nX-B: 2\r\nContent-Length: 2\r\n\r\nok",
		"named":     "HTTP/1.1 200 OK\r\nConnection: X-Secret, x-other\r\nX-Secret: s\r\nX-Other: o\r\nX-C: c\r\nContent-Length: 2\r\n\r\nok",
		"list":      "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nX-A: 1\r\n\r\nok",
		"collide":   "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-C: upstream\r\nContent-Length: 2\r\n\r\nok",
		"empty":     "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-C:\r\nContent-Length: 2\r\n\r\nok",
		"barelf":    "HTTP/1.1 200 OK\nX-A: 1\nContent-Length: 2\n\nok",
		"chunked":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"both":      "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"nocontent": "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
		"notfound":  "HTTP/1.1 404 Not Found\r\nx-a: 1\r\nContent-Length: 2\r\n\r\nno",
		"spelling":  "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\ncontent-length: 2\r\n\r\nok",
		"many": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + func() string {
			s := ""
			for i := range 24 {
				s += fmt.Sprintf("X-N%d: %d\r\n", i, i)
			}
			return s
		}() + "\r\nok",
	}
	for _, m := range loopModes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, func(o *proxy.Options) { o.EventLoops = m.loops })
			up := scriptedUpstream(t, func(c net.Conn, head string) {
				path := strings.Fields(head)[1]
				a := answers[path[strings.LastIndexByte(path, '/')+1:]]
				if strings.HasPrefix(head, "HEAD ") {
					a, _, _ = strings.Cut(a, "\n\n")
					a, _, _ = strings.Cut(a, "\r\n\r\n")
					a += "\r\n\r\n"
				}
				io.WriteString(c, a)
			})
			e.put("/routes/bare", fmt.Sprintf(`{"uri":"/bare/*","upstream":{"nodes":{"%s":1}}}`, up))
			e.put("/routes/filtered", fmt.Sprintf(`{"uri":"/filtered/*","plugins":{"test-header-filter":{}},"upstream":{"nodes":{"%s":1}}}`, up))
			e.put("/routes/added", fmt.Sprintf(`{"uri":"/added/*","plugins":{"test-add-fields":{}},"upstream":{"nodes":{"%s":1}}}`, up))
			e.put("/routes/added-filtered", fmt.Sprintf(`{"uri":"/added-filtered/*","plugins":{"test-add-fields":{},"test-header-filter":{}},"upstream":{"nodes":{"%s":1}}}`, up))
			addr := strings.TrimPrefix(e.httpURL, "http://")
			for name := range answers {
				for _, method := range []string{"GET", "HEAD"} {
					for _, pair := range [][2]string{{"bare", "filtered"}, {"added", "added-filtered"}} {
						raw := wireAnswer(t, addr, method, "/"+pair[0]+"/"+name)
						mapped := wireAnswer(t, addr, method, "/"+pair[1]+"/"+name)
						what := method + " /" + pair[0] + "/" + name
						if raw.status != mapped.status || raw.body != mapped.body || !reflect.DeepEqual(raw.fields, mapped.fields) {
							t.Errorf("%s: %d %v %q; with a header filter %d %v %q", what,
								raw.status, raw.fields, raw.body, mapped.status, mapped.fields, mapped.body)
						}
						if pair[0] == "added" && (raw.fields.Get("X-Added") != "1" || raw.fields.Get("X-C") != "plugin" || len(raw.fields["X-C"]) != 1) {
							t.Errorf("%s: the plugin's fields: %v", what, raw.fields)
						}
						checkAnswer(t, what, raw)
						checkAnswer(t, what, mapped)
					}
				}
			}
			for _, path := range []string{"/bare/spelling", "/added/spelling"} {
				if b := wireAnswer(t, addr, "GET", path); !strings.Contains(b.head, "\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\n") {
					t.Errorf("%s: the fields were not passed on as they came:\n%s", path, b.head)
				}
			}
			if b := wireAnswer(t, addr, "GET", "/filtered/spelling"); !strings.Contains(b.head, "\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n") {
				t.Errorf("with a header filter, the fields did not go through the header map:\n%s", b.head)
			}
		})
	}
}

// checkAnswer fails t if a, the answer to what, has a hop-by-hop field or
// one the upstream's Connection named, a Content-Length that is not one
// number, or a line ending in a bare LF.
func checkAnswer(t *testing.T, what string, a wired) {
	t.Helper()
	for _, k := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Upgrade",
		"Proxy-Authenticate", "Transfer-Encoding", "X-Secret", "X-Other"} {
		if _, ok := a.fields[k]; ok && !(k == "Connection" && a.fields[k][0] == "close") {
			t.Errorf("%s: %s passed on: %q", what, k, a.head)
		}
	}
	if cl := a.fields["Content-Length"]; len(cl) > 1 || len(cl) == 1 && strings.Contains(cl[0], ",") {
		t.Errorf("%s: Content-Length %q", what, cl)
	}
	if strings.Count(strings.ReplaceAll(a.head, "\r\n", ""), "\n") > 0 {
		t.Errorf("%s: a line without CR: %q", what, a.head)
	}
}

// wired is an answer as it came on the wire: its head, parsed fields
// (without Date, which the proxy may add), status and body.
type wired struct {
	head   string
	status int
	fields http.Header
	body   string
}

// wireAnswer sends one request on a new connection and reads the answer
// twice: as bytes, and parsed by net/http.
func wireAnswer(t *testing.T, addr, method, path string) wired {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: h\r\n\r\n", method, path)
	br := bufio.NewReader(c)
	head := ""
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%s %s: %v after %q", method, path, err, head)
		}
		head += l
		if l == "\r\n" || l == "\n" {
			break
		}
	}
	res, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(head), br)), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v in %q", method, path, err, head)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, path, err)
	}
	if n := len(res.Header["Date"]); n != 1 {
		t.Errorf("%s %s: %d Date fields", method, path, n)
	}
	delete(res.Header, "Date")
	return wired{head: head, status: res.StatusCode, fields: res.Header, body: string(b)}
}

// TestEventStreamFlushed: an event stream reaches the client event by
// event, whether its length is known or not, whichever way its fields
// go out (as they came, or through a header map), and when a plugin says
// what it is: the upstream sends its second event only once the client
// has read the first.
func TestEventStreamFlushed(t *testing.T) {
	for _, m := range loopModes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, func(o *proxy.Options) { o.EventLoops = m.loops })
			next := make(chan struct{}, 1)
			const ev1, ev2 = "data: one\n\n", "data: two\n\n"
			up := scriptedUpstream(t, func(c net.Conn, head string) {
				if strings.Contains(strings.Fields(head)[1], "chunked") {
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(ev1), ev1)
					select {
					case <-next:
					case <-time.After(5 * time.Second):
					}
					fmt.Fprintf(c, "%x\r\n%s\r\n0\r\n\r\n", len(ev2), ev2)
					return
				}
				ctype := "Content-Type: text/event-stream\r\n"
				if strings.HasPrefix(head, "GET /typed/") {
					ctype = "" // the plugin says what it is
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s", ctype, len(ev1+ev2), ev1)
				select {
				case <-next:
				case <-time.After(5 * time.Second):
				}
				io.WriteString(c, ev2)
			})
			e.put("/routes/bare", fmt.Sprintf(`{"uri":"/bare/*","upstream":{"nodes":{"%s":1}}}`, up))
			e.put("/routes/filtered", fmt.Sprintf(`{"uri":"/filtered/*","plugins":{"test-header-filter":{}},"upstream":{"nodes":{"%s":1}}}`, up))
			e.put("/routes/typed", fmt.Sprintf(`{"uri":"/typed/*","plugins":{"test-stream-type":{}},"upstream":{"nodes":{"%s":1}}}`, up))
			for _, path := range []string{"/bare/length", "/bare/chunked", "/filtered/length", "/filtered/chunked", "/typed/length"} {
				c, err := net.Dial("tcp", strings.TrimPrefix(e.httpURL, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path)
				res, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				b := make([]byte, len(ev1))
				if _, err := io.ReadFull(res.Body, b); err != nil || string(b) != ev1 {
					t.Errorf("%s: first event %q, %v (held back until the stream ends?)", path, b, err)
				}
				next <- struct{}{}
				rest, err := io.ReadAll(res.Body)
				if err != nil || string(rest) != ev2 {
					t.Errorf("%s: rest %q, %v", path, rest, err)
				}
				c.Close()
			}
		})
	}
}
