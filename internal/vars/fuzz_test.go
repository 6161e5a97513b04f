package vars

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fuzzVars is the fixed request FuzzCompile evaluates against; it also has
// list values so "has" runs.
var fuzzVars = listVars{
	mapVars: mapVars{
		"arg_k": "v", "arg_n": "12", "arg_x": "0x1p4", "arg_e": "",
		"http_x": "a,b", "uri": "/a/b", "host": "example.com",
		"remote_addr": "127.0.0.1", "http_x_real_ip": "2001:db8::1",
		"a": "1", "b": "inf", "c": "nan", "k": " -3.5e2 ",
	},
	lists: map[string][]string{"l": {"a", "1"}, "graphql_root_fields": {"repo"}},
}

func FuzzCompile(f *testing.F) {
	seeds := []string{
		`[]`, `{}`, `null`, `5`, `"x"`,
		`[["arg_k","==","v"]]`,
		`[["arg_k","v"]]`,
		`[["arg_k"]]`,
		`[[]]`,
		`[["arg_n",">",10],["arg_n","!","<=","20"]]`,
		`["OR",["arg_k","~~","^v$"],["http_x","~*","A"]]`,
		`["!AND",["arg_k","in",["v",1]],["l","has","a"]]`,
		`[["!OR",["remote_addr","ipmatch",["127.0.0.0/8","::1"]],["http_x_real_ip","ipmatch","2001:db8::/32"]]]`,
		`[["arg_k","~=",null],["http_y","=="]]`,
		`[["!","arg_k","==","1"]]`,
		`["OR",["a","==",1]]`,
		`[["a","==","b","c","d"]]`,
		`[[5,"==",true],{"a":[1]}]`,
		`[["a","IPMATCH",["1.2.3.4/33",""]]]`,
		`[["a","~~","(?=x)"]]`,
		`[[[[[["a","==","1"]]]]]]`,
		`["and",["k",">=","-0x10"],["k","<",1e400]]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, useNumber := range []bool{true, false} {
			dec := json.NewDecoder(strings.NewReader(string(data)))
			if useNumber {
				dec.UseNumber()
			}
			var raw any
			if err := dec.Decode(&raw); err != nil {
				return
			}
			e, err := Compile(raw)
			if err != nil {
				if e != nil {
					t.Fatalf("Compile returned both an Expr and error %v", err)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v is not ErrInvalid", err)
				}
				if !strings.HasPrefix(err.Error(), "failed to validate the 'vars' expression: ") {
					t.Fatalf("error %q lacks the admin API prefix", err)
				}
				continue
			}
			_ = e.Names()
			r1 := e.Match(fuzzVars)
			r2 := e.Match(fuzzVars.mapVars)
			_ = e.Match(nil)
			// Determinism: the same request gives the same answer.
			if e.Match(fuzzVars) != r1 || e.Match(fuzzVars.mapVars) != r2 {
				t.Fatal("Match is not deterministic")
			}
		}
		// The raw-JSON entry point must agree with decoding first.
		_, _ = Compile(json.RawMessage(data))
	})
}
