package vars

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mapVars is a Vars over a map; a missing key is an unset variable.
type mapVars map[string]string

func (m mapVars) Var(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

// listVars adds list-valued variables for "has".
type listVars struct {
	mapVars
	lists map[string][]string
}

func (l listVars) VarList(name string) ([]string, bool) {
	v, ok := l.lists[name]
	return v, ok
}

// decode parses JSON the two ways callers do: with json.Number and with
// float64 numbers.
func decode(t testing.TB, src string) (withNumber, withFloat any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	if err := dec.Decode(&withNumber); err != nil {
		t.Fatalf("bad test JSON %s: %v", src, err)
	}
	if err := json.Unmarshal([]byte(src), &withFloat); err != nil {
		t.Fatalf("bad test JSON %s: %v", src, err)
	}
	return withNumber, withFloat
}

func mustCompile(t testing.TB, src string) *Expr {
	t.Helper()
	raw, _ := decode(t, src)
	e, err := Compile(raw)
	if err != nil {
		t.Fatalf("Compile(%s): %v", src, err)
	}
	return e
}

type matchCase struct {
	desc string
	rule string
	vars mapVars
	want bool
}

func runMatch(t *testing.T, tests []matchCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			withNumber, withFloat := decode(t, tt.rule)
			for _, raw := range []any{withNumber, withFloat, json.RawMessage(tt.rule)} {
				e, err := Compile(raw)
				if err != nil {
					t.Fatalf("Compile(%s) (%T numbers): %v", tt.rule, raw, err)
				}
				if got := e.Match(tt.vars); got != tt.want {
					t.Errorf("Compile(%s).Match(%v) = %v, want %v", tt.rule, tt.vars, got, tt.want)
				}
			}
		})
	}
}

// TestMatchLuaSanity ports lua-resty-expr t/v1/sanity.t and ipmatcher.t.
func TestMatchLuaSanity(t *testing.T) {
	req := mapVars{"arg_k": "v", "host": "localhost", "server_port": "1984", "remote_addr": "127.0.0.1"}
	runMatch(t, []matchCase{
		{"uri args", `[["arg_k","==","v"]]`, mapVars{"arg_k": "v"}, true},
		{"uri args not hit (compat form)", `[["arg_k","v"]]`, mapVars{"arg_k": "not_hit"}, false},
		{"http header", `[["http_test","==","v"]]`, mapVars{"http_test": "v"}, true},
		{"http header not hit", `[["http_test","v"]]`, mapVars{"http_test": "not-hit"}, false},
		{"args + host + server_port", `[["arg_k","==","v"],["host","==","localhost"],["server_port","==","1984"]]`, req, true},
		{"args + host + server_port not hit", `[["arg_k","v"],["host","localhost"],["server_port","1984-not"]]`, req, false},
		{"~= not hit", `[["arg_k","~=","v"]]`, mapVars{"arg_k": "v"}, false},
		{"~= hit", `[["arg_k","~=","************"]]`, mapVars{"arg_k": "v"}, true},
		{"> 10 hit", `[["arg_k",">",10]]`, mapVars{"arg_k": "11"}, true},
		{"> 10 not hit", `[["arg_k",">",10]]`, mapVars{"arg_k": "9"}, false},
		{"> with no args", `[["arg_k",">",10]]`, mapVars{}, false},
		{"~= null with var set", `[["arg_k","~=",null]]`, mapVars{"arg_k": "v"}, true},
		{"in hit", `[["arg_k","in",["1","2"]]]`, mapVars{"arg_k": "1"}, true},
		{"in hit 2", `[["arg_k","in",["1","2"]]]`, mapVars{"arg_k": "2"}, true},
		{"in miss", `[["arg_k","in",["1","2"]]]`, mapVars{"arg_k": "4"}, false},
		{"in missing var", `[["arg_k","in",["1","2"]]]`, mapVars{}, false},
		{"not >, 11", `[["k","!",">",10]]`, mapVars{"k": "11"}, false},
		{"not >, 9", `[["k","!",">",10]]`, mapVars{"k": "9"}, true},
		{"and + not, 11", `[["x",">",10],["x","!",">",15]]`, mapVars{"x": "11"}, true},
		{"and + not, 16", `[["x",">",10],["x","!",">",15]]`, mapVars{"x": "16"}, false},
		{"not ~~, a", `[["k","!","~~","[a-z]"]]`, mapVars{"k": "a"}, false},
		{"not ~~, 9", `[["k","!","~~","[a-z]"]]`, mapVars{"k": "9"}, true},
		{"not in, 3", `[["k","!","in",[1,2]]]`, mapVars{"k": "3"}, true},
		{"not in, 1", `[["k","!","in",[1,2]]]`, mapVars{"k": "1"}, false},
		{"~* a", `[["x","~*","A"]]`, mapVars{"x": "a"}, true},
		{"~* A", `[["x","~*","A"]]`, mapVars{"x": "A"}, true},
		{"~* b", `[["x","~*","A"]]`, mapVars{"x": "b"}, false},
		{"~* empty", `[["x","~*","A"]]`, mapVars{"x": ""}, false},
		{"not ~* a", `[["x","!","~*","A"]]`, mapVars{"x": "a"}, false},
		{"not ~* A", `[["x","!","~*","A"]]`, mapVars{"x": "A"}, false},
		{"not ~* b", `[["x","!","~*","A"]]`, mapVars{"x": "b"}, true},
		{"not ~* empty", `[["x","!","~*","A"]]`, mapVars{"x": ""}, true},
		{"~~ missing var", `[["arg_k","~~","A"]]`, mapVars{}, false},
		{"~* missing var", `[["arg_k","~*","A"]]`, mapVars{}, false},
		{"~= number, equal", `[["arg_age","~=",18]]`, mapVars{"arg_age": "18"}, false},
		{"~= number, differs", `[["arg_age","~=",18]]`, mapVars{"arg_age": "16"}, true},
		{"~= number, not a number", `[["arg_age","~=",18]]`, mapVars{"arg_age": "aa"}, true},
		{"~= numeric string compares as string", `[["arg_age","~=","18"]]`, mapVars{"arg_age": "18"}, false},
		{"~= missing var", `[["arg_name","~=","jack"]]`, mapVars{}, true},
		{"~~ missing var, quantifier", `[["arg_name","~~","[a-z]{1,4}"]]`, mapVars{}, false},
		{"~* missing var, quantifier", `[["arg_name","~*","[a-z]{1,4}"]]`, mapVars{}, false},
		{">= string operand", `[["arg_k",">=","2"]]`, mapVars{"arg_k": "2"}, true},
		{">= number operand", `[["arg_k",">=",3]]`, mapVars{"arg_k": "2"}, false},
		{"<= string operand", `[["arg_k","<=","2"]]`, mapVars{"arg_k": "3"}, false},
		{"<= number operand", `[["arg_k","<=",3]]`, mapVars{"arg_k": "3"}, true},
		{"~= null, header missing", `[["http_test","~=",null]]`, mapVars{}, false},
		{"ipmatch single IP", `[["remote_addr","ipmatch","127.0.0.1"]]`, req, true},
		{"ipmatch list", `[["remote_addr","ipmatch",["127.0.0.1"]]]`, req, true},
		{"ipmatch CIDR", `[["remote_addr","ipmatch","127.0.0.0/16"]]`, req, true},
		{"ipmatch CIDR list", `[["remote_addr","ipmatch",["127.0.0.0/16"]]]`, req, true},
		{"ipmatch several, hit", `[["remote_addr","ipmatch",["127.0.0.1","127.0.0.2"]]]`, req, true},
		{"ipmatch several, miss", `[["remote_addr","ipmatch",["127.0.0.2","127.0.0.3"]]]`, req, false},
		{"ipmatch arg", `[["arg_real_ip","ipmatch",["127.0.0.1"]]]`, mapVars{"arg_real_ip": "127.0.0.1"}, true},
		{"ipmatch arg miss", `[["arg_real_ip","ipmatch",["127.0.0.2"]]]`, mapVars{"arg_real_ip": "127.0.0.1"}, false},
		{"ipmatch and ==", `[["remote_addr","ipmatch",["127.0.0.1"]],["arg_k","==","v"]]`, req, true},
		{"ipmatch miss and ==", `[["remote_addr","ipmatch",["127.0.0.2"]],["arg_k","==","v"]]`, req, false},
	})
}

// TestMatchLuaLogic ports lua-resty-expr t/v1/and.t, or.t and not.t.
func TestMatchLuaLogic(t *testing.T) {
	w := func(weight, height string) mapVars {
		m := mapVars{"arg_weight": weight}
		if height != "" {
			m["arg_height"] = height
		}
		return m
	}
	runMatch(t, []matchCase{
		{"and", `["AND",["arg_weight",">",10],["arg_weight","!",">",15]]`, w("12", ""), true},
		{"and, one fails", `["AND",["arg_weight",">",10],["arg_weight","!",">",15]]`, w("8", ""), false},
		{"and, nested", `["AND",["AND",["arg_weight","<",20],["arg_weight","!","<",15]],[["arg_height",">",10],["arg_height","!","<",15]]]`, w("16", "16"), true},
		{"and, nested fails", `["AND",[["arg_height",">",10],["arg_height","!","<",15]],["AND",["arg_weight","<",20],["arg_weight","!","<",15]]]`, w("14", "16"), false},
		{"or", `["OR",["arg_weight",">",10],["arg_weight","!",">",15]]`, w("12", ""), true},
		{"or, one fails", `["OR",["arg_weight",">",10],["arg_weight","!",">",15]]`, w("8", ""), true},
		{"or, both fail", `["OR",["arg_weight",">",20],["arg_weight","!",">",15]]`, w("16", ""), false},
		{"or, nested", `["OR",["OR",["arg_weight",">",20],["arg_weight","!",">",15]],["AND",["arg_height",">",10],["arg_height","!","<",15]]]`, w("16", "16"), true},
		{"or, nested both fail", `["OR",["OR",["arg_weight",">",20],["arg_weight","!",">",15]],["AND",["arg_height",">",10],["arg_height","!","<",15]]]`, w("16", "14"), false},
		{"or, nested plain lists", `["OR",[["arg_weight","!",">",15]],[["arg_height",">",10],["arg_height","!","<",15]]]`, w("16", "16"), true},
		{"or, nested plain lists fail", `["OR",[["arg_weight","!",">",15]],[["arg_height",">",10],["arg_height","!","<",15]]]`, w("16", "14"), false},
		{"!and", `["!AND",["arg_weight",">",10],["arg_weight","!",">",15]]`, w("12", ""), false},
		{"!and, one fails", `["!AND",["arg_weight",">",10],["arg_weight","!",">",15]]`, w("8", ""), true},
		{"!and, both fail", `["!AND",["arg_weight",">",10],["arg_weight","!","<",15]]`, w("8", ""), true},
		{"!or", `["!OR",["arg_weight",">",10],["arg_weight","!",">",15]]`, w("12", ""), false},
		{"!or, one fails", `["!OR",["arg_weight",">",10],["arg_weight","!",">",15]]`, w("8", ""), false},
		{"!or, both fail", `["!OR",["arg_weight",">",10],["arg_weight","!","<",15]]`, w("8", ""), true},
		{"!or, nested", `["!OR",["AND",["arg_weight","<",20],["arg_weight","!","<",15]],[["arg_height",">",10],["arg_height","!","<",15]],["OR",["arg_height",">",10],["arg_height","!","<",15]]]`, w("16", "16"), false},
		{"!or, nested !and/!or", `["!OR",["!AND",["arg_weight","<",20],["arg_weight","!","<",15]],["!OR",["arg_height",">",10],["arg_height","!","<",15]]]`, w("16", "16"), true},
		{"!and, mixed", `["!AND",["arg_name","==","json"],["OR",["arg_weight",">",10],["arg_height","!",">",15]]]`, mapVars{"arg_weight": "6", "arg_height": "6", "arg_name": "json"}, false},
		{"!and, mixed success", `["!AND",["OR",["arg_weight",">",10],["arg_height","!",">",15]],["arg_name","==","json"]]`, mapVars{"arg_weight": "6", "arg_height": "6", "arg_name": "xx"}, true},
		{"!and, multiple layers", `["!AND",["arg_name","==","json"],["OR",["AND",["arg_weight",">",10],["arg_height",">",10]],["arg_height","!",">",15]]]`, mapVars{"arg_weight": "6", "arg_height": "6", "arg_name": "json"}, false},
	})
}

func TestMatchSemantics(t *testing.T) {
	runMatch(t, []matchCase{
		// Empty rules.
		{"empty list matches", `[]`, mapVars{}, true},
		{"empty object matches", `{}`, mapVars{}, true},
		{"null matches", `null`, mapVars{}, true},

		// == and ~=.
		{"== string", `[["uri","==","/a"]]`, mapVars{"uri": "/a"}, true},
		{"== is case-sensitive", `[["uri","==","/A"]]`, mapVars{"uri": "/a"}, false},
		{"== string, missing var", `[["uri","==","/a"]]`, mapVars{}, false},
		{"== empty string, empty var", `[["http_x","==",""]]`, mapVars{"http_x": ""}, true},
		{"== empty string, missing var", `[["http_x","==",""]]`, mapVars{}, false},
		{"== number, numeric var", `[["arg_n","==",18]]`, mapVars{"arg_n": "18"}, true},
		{"== number, 18.0", `[["arg_n","==",18]]`, mapVars{"arg_n": "18.0"}, true},
		{"== number, hex", `[["arg_n","==",18]]`, mapVars{"arg_n": "0x12"}, true},
		{"== number, spaces", `[["arg_n","==",18]]`, mapVars{"arg_n": " 18 "}, true},
		{"== number, 1.8e1", `[["arg_n","==",18]]`, mapVars{"arg_n": "1.8e1"}, true},
		{"== number, not numeric", `[["arg_n","==",18]]`, mapVars{"arg_n": "18a"}, false},
		{"== number, missing", `[["arg_n","==",18]]`, mapVars{}, false},
		{"== numeric string is a string", `[["arg_n","==","18"]]`, mapVars{"arg_n": "18.0"}, false},
		{"~= number, missing", `[["arg_n","~=",18]]`, mapVars{}, true},
		{"== null, missing", `[["http_x","==",null]]`, mapVars{}, true},
		{"== null, set", `[["http_x","==",null]]`, mapVars{"http_x": ""}, false},
		{"~= null, set empty", `[["http_x","~=",null]]`, mapVars{"http_x": ""}, true},
		{"[var, ==] tests absence", `[["http_x","=="]]`, mapVars{}, true},
		{"[var, ~=] tests presence", `[["http_x","~="]]`, mapVars{"http_x": "1"}, true},
		{"compat form", `[["arg_k","v"]]`, mapVars{"arg_k": "v"}, true},
		{"compat form lower-cases the value", `[["arg_k","V"]]`, mapVars{"arg_k": "V"}, false},
		{"compat form lower-cases the value, hit", `[["arg_k","V"]]`, mapVars{"arg_k": "v"}, true},
		{"compat form with a number is a string", `[["arg_k",5]]`, mapVars{"arg_k": "5"}, true},
		{"compat form with a number, 5.0", `[["arg_k",5]]`, mapVars{"arg_k": "5.0"}, false},
		{"operator is case-insensitive", `[["arg_k","IN",["a"]]]`, mapVars{"arg_k": "a"}, true},
		{"logic operator is case-insensitive", `["or",["arg_k","==","a"],["arg_k","==","b"]]`, mapVars{"arg_k": "b"}, true},
		{"!Or", `["!Or",["arg_k","==","a"],["arg_k","==","b"]]`, mapVars{"arg_k": "b"}, false},

		// Ordered comparisons.
		{"> numeric, not string order", `[["arg_n",">",9]]`, mapVars{"arg_n": "10"}, true},
		{"> string operand numeric order", `[["arg_n",">","9"]]`, mapVars{"arg_n": "10"}, true},
		{"> equal", `[["arg_n",">",10]]`, mapVars{"arg_n": "10"}, false},
		{">= equal", `[["arg_n",">=",10]]`, mapVars{"arg_n": "10"}, true},
		{"< negative", `[["arg_n","<",0]]`, mapVars{"arg_n": "-1.5"}, true},
		{"<= fraction", `[["arg_n","<=",1.5]]`, mapVars{"arg_n": "1.5"}, true},
		{"< non-numeric var", `[["arg_n","<",10]]`, mapVars{"arg_n": "abc"}, false},
		{"! < non-numeric var", `[["arg_n","!","<",10]]`, mapVars{"arg_n": "abc"}, true},
		{"< missing var", `[["arg_n","<",10]]`, mapVars{}, false},
		{"! < missing var", `[["arg_n","!","<",10]]`, mapVars{}, true},
		{"> inf var", `[["arg_n",">",1e300]]`, mapVars{"arg_n": "inf"}, true},
		{"> nan var", `[["arg_n",">",0]]`, mapVars{"arg_n": "nan"}, false},
		{"<= nan var", `[["arg_n","<=",0]]`, mapVars{"arg_n": "nan"}, false},
		{"> hex operand", `[["arg_n",">","0x10"]]`, mapVars{"arg_n": "17"}, true},
		{"> empty var", `[["arg_n",">",-1]]`, mapVars{"arg_n": ""}, false},

		// Regexes.
		{"~~ unanchored", `[["http_ua","~~","Chrome"]]`, mapVars{"http_ua": "Mozilla Chrome/1"}, true},
		{"~~ anchored", `[["http_x","~~","^a+$"]]`, mapVars{"http_x": "aaa"}, true},
		{"~~ anchored miss", `[["http_x","~~","^a+$"]]`, mapVars{"http_x": "aab"}, false},
		{"~~ is case-sensitive", `[["http_x","~~","abc"]]`, mapVars{"http_x": "ABC"}, false},
		{"~* ignores case", `[["http_x","~*","^abc$"]]`, mapVars{"http_x": "AbC"}, true},
		{"~~ inline flag", `[["http_x","~~","(?i)abc"]]`, mapVars{"http_x": "ABC"}, true},
		{"~~ empty pattern matches empty", `[["http_x","~~",""]]`, mapVars{"http_x": ""}, true},
		{"~~ named group", `[["uri","~~","^/(?<v>v[0-9]+)/"]]`, mapVars{"uri": "/v2/x"}, true},
		{"! ~~ missing var", `[["http_x","!","~~","a"]]`, mapVars{}, true},

		// in.
		{"in numbers, numeric match", `[["arg_id","in",[1,2]]]`, mapVars{"arg_id": "2"}, true},
		{"in numbers, 2.0", `[["arg_id","in",[1,2]]]`, mapVars{"arg_id": "2.0"}, true},
		{"in numbers, miss", `[["arg_id","in",[1,2]]]`, mapVars{"arg_id": "3"}, false},
		{"in numbers, non-numeric", `[["arg_id","in",[1,2]]]`, mapVars{"arg_id": "x"}, false},
		{"in mixed, string", `[["arg_id","in",["a",1]]]`, mapVars{"arg_id": "a"}, true},
		{"in mixed, number", `[["arg_id","in",["a",1]]]`, mapVars{"arg_id": "1"}, true},
		{"in strings are exact", `[["arg_id","in",["1"]]]`, mapVars{"arg_id": "1.0"}, false},
		{"in empty array", `[["arg_id","in",[]]]`, mapVars{"arg_id": "1"}, false},
		{"! in empty array", `[["arg_id","!","in",[]]]`, mapVars{"arg_id": "1"}, true},
		{"! in missing var", `[["arg_id","!","in",["a"]]]`, mapVars{}, true},
		{"in large list hit", `[["arg_c","in",["a","b","c","d","e","f","g","h","i","j"]]]`, mapVars{"arg_c": "i"}, true},
		{"in large list miss", `[["arg_c","in",["a","b","c","d","e","f","g","h","i","j"]]]`, mapVars{"arg_c": "k"}, false},
		{"in large list plus numbers", `[["arg_c","in",["a","b","c","d","e","f","g","h","i",7]]]`, mapVars{"arg_c": "7"}, true},

		// has on a plain Vars: a string never "has" anything (no comma splitting).
		{"has on a string var", `[["http_x","has","a"]]`, mapVars{"http_x": "a"}, false},
		{"has on a comma list", `[["http_x","has","a"]]`, mapVars{"http_x": "a,b"}, false},
		{"! has on a string var", `[["http_x","!","has","a"]]`, mapVars{"http_x": "a"}, true},

		// ipmatch.
		{"ipmatch IPv6", `[["remote_addr","ipmatch","2001:db8::/32"]]`, mapVars{"remote_addr": "2001:db8::1"}, true},
		{"ipmatch IPv6 miss", `[["remote_addr","ipmatch","2001:db8::/32"]]`, mapVars{"remote_addr": "2001:db9::1"}, false},
		{"ipmatch IPv6 host", `[["remote_addr","ipmatch","::1"]]`, mapVars{"remote_addr": "::1"}, true},
		{"ipmatch IPv6 non-canonical", `[["remote_addr","ipmatch","::1"]]`, mapVars{"remote_addr": "0:0:0:0:0:0:0:1"}, true},
		{"ipmatch bracketed var", `[["remote_addr","ipmatch","::1"]]`, mapVars{"remote_addr": "[::1]"}, true},
		{"ipmatch bracketed entry", `[["remote_addr","ipmatch","[fe80::]/16"]]`, mapVars{"remote_addr": "fe80::1"}, true},
		{"ipmatch mixed list, v4", `[["remote_addr","ipmatch",["10.0.0.0/8","2001:db8::/32"]]]`, mapVars{"remote_addr": "10.9.8.7"}, true},
		{"ipmatch mixed list, v6", `[["remote_addr","ipmatch",["10.0.0.0/8","2001:db8::/32"]]]`, mapVars{"remote_addr": "2001:db8:1::5"}, true},
		{"ipmatch v4 var, v6 list", `[["remote_addr","ipmatch",["::/0"]]]`, mapVars{"remote_addr": "1.2.3.4"}, false},
		{"ipmatch 0.0.0.0/0", `[["remote_addr","ipmatch","0.0.0.0/0"]]`, mapVars{"remote_addr": "1.2.3.4"}, true},
		{"ipmatch host bits ignored", `[["remote_addr","ipmatch","192.168.1.1/16"]]`, mapVars{"remote_addr": "192.168.200.3"}, true},
		{"ipmatch /32", `[["remote_addr","ipmatch","192.168.1.1/32"]]`, mapVars{"remote_addr": "192.168.1.2"}, false},
		{"ipmatch v4-mapped v6 var is v6", `[["remote_addr","ipmatch","1.2.3.0/24"]]`, mapVars{"remote_addr": "::ffff:1.2.3.4"}, false},
		{"ipmatch missing var", `[["remote_addr","ipmatch","0.0.0.0/0"]]`, mapVars{}, false},
		{"! ipmatch missing var", `[["remote_addr","!","ipmatch","0.0.0.0/0"]]`, mapVars{}, true},
		{"ipmatch var with port", `[["remote_addr","ipmatch","0.0.0.0/0"]]`, mapVars{"remote_addr": "1.2.3.4:80"}, false},
		{"ipmatch var with zone", `[["remote_addr","ipmatch","fe80::/10"]]`, mapVars{"remote_addr": "fe80::1%eth0"}, false},
		{"ipmatch garbage var", `[["remote_addr","ipmatch","0.0.0.0/0"]]`, mapVars{"remote_addr": "cafe"}, false},
		{"ipmatch leading zeros rejected like inet_pton", `[["remote_addr","ipmatch","0.0.0.0/0"]]`, mapVars{"remote_addr": "01.2.3.4"}, false},
		{"ipmatch bracketed v4 var", `[["remote_addr","ipmatch","0.0.0.0/0"]]`, mapVars{"remote_addr": "[1.2.3.4]"}, false},

		// Logical structure.
		{"flat list is AND", `[["a","==","1"],["b","==","2"]]`, mapVars{"a": "1", "b": "3"}, false},
		{"single nested list", `[[["a","==","1"]]]`, mapVars{"a": "1"}, true},
		{"deep nesting", `[["OR",["AND",["a","==","1"],["!OR",["b","==","2"],["c","==","3"]]],["d","==","4"]]]`, mapVars{"a": "1", "b": "0", "c": "0"}, true},
		{"deep nesting miss", `[["OR",["AND",["a","==","1"],["!OR",["b","==","2"],["c","==","3"]]],["d","==","4"]]]`, mapVars{"a": "1", "b": "2"}, false},
	})
}

func TestHasListVars(t *testing.T) {
	lv := listVars{
		mapVars: mapVars{"http_x": "a"},
		lists: map[string][]string{
			"graphql_root_fields": {"repo", "owner"},
			"nums":                {"1", "2.0"},
			"empty":               {},
		},
	}
	tests := []struct {
		desc string
		rule string
		want bool
	}{
		{"has hit", `[["graphql_root_fields","has","repo"]]`, true},
		{"has miss", `[["graphql_root_fields","has","repos"]]`, false},
		{"has case-sensitive", `[["graphql_root_fields","has","Repo"]]`, false},
		{"HAS operator any case", `["or",["graphql_root_fields","HAS","x"],["graphql_root_fields","HAS","owner"]]`, true},
		{"not has", `[["graphql_root_fields","!","has","repo"]]`, false},
		{"not has miss", `[["graphql_root_fields","!","has","x"]]`, true},
		{"has number", `[["nums","has",2]]`, true},
		{"has number miss", `[["nums","has",3]]`, false},
		{"has empty list", `[["empty","has","a"]]`, false},
		{"has unset list", `[["nope","has","a"]]`, false},
		{"has on a string var", `[["http_x","has","a"]]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := mustCompile(t, tt.rule).Match(lv); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	const prefix = "failed to validate the 'vars' expression: "
	tests := []struct {
		desc string
		rule string
		want string // the reason after the prefix; a trailing "*" matches a prefix
	}{
		// lua-resty-expr t/validate.t and t/v1/ipmatcher.t.
		{"invalid operator", `[["arg_k","=","v"]]`, "invalid operator '='"},
		{"invalid operator word", `[["arg_k","invalid",10]]`, "invalid operator 'invalid'"},
		{"operator lower-cased in message", `[["arg_k","XX","v"]]`, "invalid operator 'xx'"},
		{"invalid operator with null value", `[["arg_k","xx",null]]`, "invalid operator 'xx'"},
		{"lone variable", `[["arg_k"]]`, "invalid expression"},
		{"empty nested rule", `[[]]`, "rule too short"},
		{"bad not", `[["!","arg_k","==","1"]]`, "bad 'not' expression"},
		{"bad not, other word", `[["arg_k","not","==","1"]]`, "bad 'not' expression"},
		{"OR with one child", `["OR",["arg_weight",">",10]]`, "rule too short"},
		{"nested AND with no child", `["OR",["arg_weight",">",10],["AND"]]`, "rule too short"},
		{"unbracketed rule", `["arg_k","==","v"]`, "rule should be wrapped inside brackets"},
		{"ipmatch null", `[["remote_addr","ipmatch",null]]`, "invalid ip address"},
		{"ipmatch absent", `[["remote_addr","ipmatch"]]`, "invalid ip address"},
		{"ipmatch empty string", `[["remote_addr","ipmatch",""]]`, "invalid ip address"},
		{"ipmatch empty list", `[["remote_addr","ipmatch",[]]]`, "invalid ip address"},
		{"ipmatch empty entry", `[["remote_addr","ipmatch",[""]]]`, "invalid ip address: "},

		// Stricter than Lua.
		{"ipmatch bad ip", `[["remote_addr","ipmatch","1.2.3"]]`, "invalid ip address: 1.2.3"},
		{"ipmatch bad entry in list", `[["remote_addr","ipmatch",["10.0.0.0/8","x"]]]`, "invalid ip address: x"},
		{"ipmatch mask too long v4", `[["remote_addr","ipmatch","10.0.0.0/33"]]`, "invalid ip address: 10.0.0.0/33"},
		{"ipmatch mask too long v6", `[["remote_addr","ipmatch","::/129"]]`, "invalid ip address: ::/129"},
		{"ipmatch empty mask", `[["remote_addr","ipmatch","10.0.0.1/"]]`, "invalid ip address: 10.0.0.1/"},
		{"ipmatch non-decimal mask", `[["remote_addr","ipmatch","10.0.0.1/0x8"]]`, "invalid ip address: 10.0.0.1/0x8"},
		{"ipmatch zone", `[["remote_addr","ipmatch","fe80::1%eth0"]]`, "invalid ip address: fe80::1%eth0"},
		{"ipmatch number", `[["remote_addr","ipmatch",5]]`, "invalid ip address: 5"},
		{"ipmatch object", `[["remote_addr","ipmatch",{"a":1}]]`, "invalid ip address"},
		{"ipmatch bool", `[["remote_addr","ipmatch",true]]`, "invalid ip address: true"},
		{"bad regex", `[["http_x","~~","[a"]]`, "invalid regex \"[a\" for operator '~~': error parsing regexp: missing closing ]: `[a`"},
		{"bad regex ~*", `[["http_x","~*","(a"]]`, "invalid regex \"(a\" for operator '~*': error parsing regexp: missing closing ): `(a`"},
		{"PCRE lookahead unsupported", `[["http_x","~~","a(?=b)"]]`, "invalid regex \"a(?=b)\" for operator '~~': *"},
		{"PCRE backreference unsupported", `[["http_x","~~","(a)\\1"]]`, "invalid regex \"(a)\\\\1\" for operator '~~': *"},
		{"regex not a string", `[["http_x","~~",5]]`, "invalid value 5 for operator '~~', expect a regular expression string"},
		{"regex absent", `[["http_x","~~"]]`, "invalid value null for operator '~~', expect a regular expression string"},
		{"in not an array", `[["arg_k","in","a,b"]]`, "invalid value \"a,b\" for operator 'in', expect an array of strings and numbers"},
		{"in absent", `[["arg_k","in"]]`, "invalid value null for operator 'in', expect an array of strings and numbers"},
		{"in object", `[["arg_k","in",{"a":1}]]`, "invalid value an object for operator 'in', expect an array of strings and numbers"},
		{"in with null element", `[["arg_k","in",["a",null]]]`, "invalid element null in the value of operator 'in', expect a string or a number"},
		{"in with bool element", `[["arg_k","in",[true]]]`, "invalid element true in the value of operator 'in', expect a string or a number"},
		{"in with nested array", `[["arg_k","in",[["a"]]]]`, "invalid element an array in the value of operator 'in', expect a string or a number"},
		{"has array", `[["x","has",["a"]]]`, "invalid value an array for operator 'has', expect a string or a number"},
		{"has null", `[["x","has",null]]`, "invalid value null for operator 'has', expect a string or a number"},
		{"> non-numeric", `[["arg_n",">","abc"]]`, "invalid value \"abc\" for operator '>', expect a number"},
		{"> null", `[["arg_n",">",null]]`, "invalid value null for operator '>', expect a number"},
		{"<= bool", `[["arg_n","<=",true]]`, "invalid value true for operator '<=', expect a number"},
		{"> nan", `[["arg_n",">","nan"]]`, "invalid value \"nan\" for operator '>', expect a number"},
		{"== bool", `[["arg_n","==",true]]`, "invalid value true for operator '==', expect a string, a number or null"},
		{"~= array", `[["arg_n","~=",["a"]]]`, "invalid value an array for operator '~=', expect a string, a number or null"},
		{"too many elements", `[["arg_k","!","==","v","w"]]`, "invalid expression: 5 elements, expect [var, op, value] or [var, \"!\", op, value]"},
		{"numeric variable", `[[5,"==","v"]]`, "invalid expression: variable name must be a non-empty string, got 5"},
		{"null variable", `[[null,"==","v"]]`, "invalid expression: variable name must be a non-empty string, got null"},
		{"empty variable", `[["","==","v"]]`, "invalid expression: variable name must be a non-empty string, got \"\""},
		{"bool operator", `[["arg_k",true]]`, "invalid operator true, expect a string"},
		{"null operator", `[["arg_k",null,"v"]]`, "invalid operator null, expect a string"},
		{"array operator", `[["arg_k",["=="],"v"]]`, "invalid operator an array, expect a string"},
		{"string child in AND list", `[["arg_k","==","v"],"OR"]`, "invalid expression: expect an array, got \"OR\""},
		{"number child in OR", `["OR",["arg_k","==","v"],5]`, "invalid expression: expect an array, got 5"},
		{"object child", `[["arg_k","==","v"],{"a":1}]`, "invalid expression: expect an array, got an object"},
		{"empty object child", `[["arg_k","==","v"],{}]`, "rule too short"},
		{"logic head used as variable", `["or","==","x"]`, "invalid expression: expect an array, got \"==\""},
		{"top-level string", `"arg_k"`, "rule should be an array, got \"arg_k\""},
		{"top-level number", `5`, "rule should be an array, got 5"},
		{"top-level object", `{"a":1}`, "rule should be an array, got an object"},
		{"top-level number head", `[5,["a","==","b"]]`, "rule should be wrapped inside brackets"},
		{"error deep inside", `["AND",["a","==","b"],["OR",["c","==","d"],["!AND",["e","~~","("],["f","==","g"]]]]`, "invalid regex \"(\" for operator '~~': *"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			withNumber, withFloat := decode(t, tt.rule)
			for _, raw := range []any{withNumber, withFloat} {
				e, err := Compile(raw)
				if err == nil {
					t.Fatalf("Compile(%s) = %v, want error %q", tt.rule, e, tt.want)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("Compile(%s) error %v is not ErrInvalid", tt.rule, err)
				}
				got := err.Error()
				want := prefix + tt.want
				if p, ok := strings.CutSuffix(want, "*"); ok {
					if !strings.HasPrefix(got, p) {
						t.Errorf("Compile(%s) error\n got %q\nwant prefix %q", tt.rule, got, p)
					}
				} else if got != want {
					t.Errorf("Compile(%s) error\n got %q\nwant %q", tt.rule, got, want)
				}
			}
		})
	}
}

func TestCompileDepth(t *testing.T) {
	nest := func(levels int) string {
		return strings.Repeat("[", levels) + `"a","==","b"` + strings.Repeat("]", levels)
	}
	if _, err := Compile(json.RawMessage(nest(MaxDepth))); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	_, err := Compile(json.RawMessage(nest(MaxDepth + 1)))
	if err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("depth %d: err = %v, want nesting error", MaxDepth+1, err)
	}
}

func TestCompileGoValues(t *testing.T) {
	tests := []struct {
		desc string
		raw  any
		vars mapVars
		want bool
	}{
		{"[][]any with int", [][]any{{"arg_n", ">", 3}}, mapVars{"arg_n": "4"}, true},
		{"[][]string", [][]string{{"arg_k", "==", "v"}}, mapVars{"arg_k": "v"}, true},
		{"[]any with []string in", []any{[]any{"arg_k", "in", []string{"a", "b"}}}, mapVars{"arg_k": "b"}, true},
		{"[]any with []int in", []any{[]any{"arg_k", "in", []int{1, 2}}}, mapVars{"arg_k": "2"}, true},
		{"uint and float32", []any{[]any{"arg_k", "<", uint8(3)}, []any{"arg_k", ">", float32(1.5)}}, mapVars{"arg_k": "2"}, true},
		{"[]byte JSON", []byte(`[["arg_k","==","v"]]`), mapVars{"arg_k": "v"}, true},
		{"nil slice", [][]any(nil), mapVars{}, true},
		{"empty map", map[string]any{}, mapVars{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			e, err := Compile(tt.raw)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if got := e.Match(tt.vars); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := Compile(json.RawMessage(`[["a"`)); err == nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("bad JSON: err = %v, want ErrInvalid", err)
	}
	if _, err := Compile(json.RawMessage(`[] []`)); err == nil {
		t.Errorf("trailing JSON: no error")
	}
	if _, err := Compile(make(chan int)); err == nil {
		t.Errorf("chan: no error")
	}
}

func TestNilAndZero(t *testing.T) {
	var nilExpr *Expr
	if !nilExpr.Match(mapVars{}) {
		t.Error("nil *Expr does not match")
	}
	if nilExpr.Names() != nil {
		t.Error("nil *Expr has names")
	}
	if !(&Expr{}).Match(nil) {
		t.Error("zero Expr does not match")
	}
	e := mustCompile(t, `[["http_x","==",null],["arg_a","!","~~","x"]]`)
	if !e.Match(nil) {
		t.Error("nil Vars: unset variables not handled")
	}
	e = mustCompile(t, `[["http_x","==","1"]]`)
	if e.Match(nil) {
		t.Error("nil Vars matched == \"1\"")
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		desc string
		rule string
		want []string
	}{
		{"empty", `[]`, nil},
		{"flat", `[["arg_a","==","1"],["http_b","~~","x"]]`, []string{"arg_a", "http_b"}},
		{"dedup, order of first use", `["OR",["b","==","1"],["AND",["a",">",1],["b","<",5]],["c","!","in",["x"]]]`, []string{"b", "a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			e := mustCompile(t, tt.rule)
			got := e.Names()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Names() mismatch (-want +got):\n%s", diff)
			}
			if len(got) > 0 {
				got[0] = "changed"
				if e.Names()[0] == "changed" {
					t.Error("Names() exposes internal state")
				}
			}
		})
	}
}

// TestMatchDoesNotAllocate guards the per-request promise.
func TestMatchDoesNotAllocate(t *testing.T) {
	e := mustCompile(t, benchRule)
	for _, v := range []mapVars{benchHit, benchMiss, {}} {
		if n := testing.AllocsPerRun(200, func() { e.Match(v) }); n != 0 {
			t.Errorf("Match(%v) allocates %v times", v, n)
		}
	}
	// A pointer, so that the conversion to Vars does not allocate.
	var lv Vars = &listVars{mapVars: mapVars{}, lists: map[string][]string{"l": {"a", "b"}}}
	e = mustCompile(t, `[["l","has","b"]]`)
	if n := testing.AllocsPerRun(200, func() { e.Match(lv) }); n != 0 {
		t.Errorf("has allocates %v times", n)
	}
}

func TestConcurrentMatch(t *testing.T) {
	e := mustCompile(t, benchRule)
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 1000 {
				ok = ok && e.Match(benchHit) && !e.Match(benchMiss)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("concurrent Match gave a wrong result")
		}
	}
}
