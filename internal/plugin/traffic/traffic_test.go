package traffic

import (
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
)

type mapVars map[string]string

func (m mapVars) Var(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

func ctx(vars map[string]string) *plugin.Ctx {
	return &plugin.Ctx{Vars: mapVars(vars), RouteID: "r1"}
}

func TestTemplate(t *testing.T) {
	c := ctx(map[string]string{"remote_addr": "1.2.3.4", "http_x": "X", "empty": "", "a_b1": "ab"})
	tests := []struct {
		desc, tpl, want string
		n               int
	}{
		{"no variable", "plain text", "plain text", 0},
		{"one variable", "$remote_addr", "1.2.3.4", 1},
		{"braces", "${http_x}y", "Xy", 1},
		{"word chars end a name", "$http_x-$remote_addr!", "X-1.2.3.4!", 2},
		{"unset is empty and not counted", "[$nope][$http_x]", "[][X]", 1},
		{"set but empty is counted", "<$empty>", "<>", 1},
		{"escaped dollar stays", `\$http_x $http_x`, `\$http_x X`, 1},
		{"lone dollar", "cost $ 5", "cost $ 5", 0},
		{"unclosed brace", "${http_x", "${http_x", 0},
		{"empty braces", "${}", "${}", 0},
		{"underscore and digits", "$a_b1", "ab", 1},
		{"context variables", "$route_id/$consumer_name", "r1/", 1},
		{"long result beyond the stack buffer", strings.Repeat("$remote_addr", 20), strings.Repeat("1.2.3.4", 20), 20},
	}
	for _, tc := range tests {
		tpl := CompileTemplate(tc.tpl)
		got, n := tpl.Resolve(c)
		if got != tc.want || n != tc.n {
			t.Errorf("%s: Resolve(%q) = %q, %d; want %q, %d", tc.desc, tc.tpl, got, n, tc.want, tc.n)
		}
	}
}

func TestKey(t *testing.T) {
	c := ctx(map[string]string{"remote_addr": "1.2.3.4", "http_x": "X"})
	c.Consumer = &plugin.Consumer{Username: "jack"}
	tests := []struct {
		typ, key, want string
	}{
		{"var", "http_x", "X"},
		{"", "http_missing", "1.2.3.4"},
		{"var", "consumer_name", "jack"},
		{"var_combination", "$http_x:$http_missing", "X:"},
		{"var_combination", "$http_missing", "1.2.3.4"},
		{"constant", "$http_x", "$http_x"},
	}
	for _, tc := range tests {
		k, err := NewKey(tc.typ, tc.key)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.Resolve(c); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.typ, tc.key, got, tc.want)
		}
	}
	if _, err := NewKey("bogus", "x"); err == nil {
		t.Error("unknown key_type accepted")
	}
}

func TestNumVar(t *testing.T) {
	c := ctx(map[string]string{"http_n": " 12 ", "http_hex": "0x10", "http_bad": "12a", "http_f": "1.5e1"})
	tests := []struct {
		v    any
		want float64
		ok   bool
	}{
		{json.Number("3"), 3, true},
		{"$http_n", 12, true},
		{"$http_hex", 16, true},
		{"$http_f", 15, true},
		{"$http_bad", 0, false},
		{"$http_missing", 0, false},
		{"7", 7, true},
		{"inf", 0, false},
	}
	for _, tc := range tests {
		n, err := ParseNumVar(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := n.Get(c)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%v: %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
	if _, err := ParseNumVar(true); err == nil {
		t.Error("bool accepted")
	}
}

func TestFormatNumber(t *testing.T) {
	for f, want := range map[float64]string{60: "60", 0: "0", 9.57: "9.57", 0.01: "0.01", 2.5: "2.5", 1e-05: "1e-05"} {
		if got := FormatNumber(f); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestErrorPageAndExit(t *testing.T) {
	// Content-Length as APISIX sends these pages.
	for code, n := range map[int]int{400: 229, 401: 251, 403: 225} {
		if got := len(plugin.ErrorPage(code)); got != n {
			t.Errorf("page %d: %d bytes, want %d", code, got, n)
		}
	}
	if plugin.ErrorPage(418) != nil || plugin.ErrorPage(200) != nil {
		t.Error("page for a status nginx has none for")
	}
	c := &plugin.Ctx{RespHeader: map[string][]string{}}
	c.Exit(503, nil)
	if _, st, b := c.Exited(); st != 503 || string(b) != string(plugin.ErrorPage(503)) || c.RespHeader.Get("Content-Type") != HTMLType {
		t.Errorf("Exit page: %d %q %v", st, b, c.RespHeader)
	}
	c = &plugin.Ctx{RespHeader: map[string][]string{}}
	c.Exit(429, MessageBody("a/b <c> & d"))
	if _, st, b := c.Exited(); st != 429 || string(b) != `{"error_msg":"a/b <c> & d"}`+"\n" || c.RespHeader.Get("Content-Type") != "" {
		t.Errorf("Exit message: %d %q %v", st, b, c.RespHeader)
	}
}

func TestRegistry(t *testing.T) {
	var r Registry[int]
	a := r.Get("k", func() *int { v := 1; return &v })
	b := r.Get("k", func() *int { v := 2; return &v })
	if a != b || *a != 1 {
		t.Fatal("live value not reused")
	}
	runtime.KeepAlive(a)
	a, b = nil, nil
	// Once nothing refers to it the entry goes away.
	deadline := time.Now().Add(5 * time.Second)
	for r.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("entry kept after its value died: %d", r.Len())
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	c := r.Get("k", func() *int { v := 3; return &v })
	if *c != 3 {
		t.Error("dead value reused")
	}
	if StateKey("routes/1", map[string]any{"b": 1, "a": "<x>"}) != StateKey("routes/1", map[string]any{"a": "<x>", "b": 1}) {
		t.Error("StateKey depends on map order")
	}
	if StateKey("routes/1", map[string]any{"a": 1}) == StateKey("routes/2", map[string]any{"a": 1}) {
		t.Error("StateKey ignores the object")
	}
}

func TestTable(t *testing.T) {
	type entry struct{ until int64 }
	tb := NewTable(shardCount*2, time.Second, func(e *entry, now int64) bool { return now >= e.until })
	now := time.Now().UnixNano()
	put := func(key string, until int64) {
		s := tb.Shard(key)
		s.Lock()
		tb.Get(s, key, now).until = until
		s.Unlock()
	}
	// Far more keys than the bound: the table stays bounded.
	for i := range 1000 {
		put(strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune(i)), now+int64(time.Hour))
	}
	if n := tb.Len(); n > shardCount*2 {
		t.Errorf("%d entries, bound %d", n, shardCount*2)
	}
	// Idle entries are swept once the interval has passed.
	tb2 := NewTable(0, time.Second, func(e *entry, now int64) bool { return now >= e.until })
	for _, k := range []string{"a", "b", "c"} {
		s := tb2.Shard(k)
		s.Lock()
		tb2.Get(s, k, now).until = now + 1
		s.Unlock()
	}
	later := now + int64(2*time.Second)
	for i := range shardCount * 8 {
		k := "other" + strconv.Itoa(i)
		s := tb2.Shard(k)
		s.Lock()
		tb2.Get(s, k, later).until = later + int64(time.Hour)
		s.Unlock()
	}
	for _, k := range []string{"a", "b", "c"} {
		s := tb2.Shard(k)
		s.Lock()
		_, ok := tb2.Lookup(s, k)
		s.Unlock()
		if ok {
			t.Errorf("idle %q not swept", k)
		}
	}
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"", "$a", "${a}", `\$a`, "$", "${", "${}", "x$a_b${c}d", "$$a"} {
		f.Add(s)
	}
	c := ctx(map[string]string{"a": "1", "c": "3"})
	f.Fuzz(func(t *testing.T, s string) {
		tpl := CompileTemplate(s)
		out, n := tpl.Resolve(c)
		if n < 0 || (tpl.Static() && (out != s || n != 0)) {
			t.Fatalf("%q -> %q, %d", s, out, n)
		}
		if !strings.Contains(s, "$") && out != s {
			t.Fatalf("text without $ changed: %q -> %q", s, out)
		}
	})
}
