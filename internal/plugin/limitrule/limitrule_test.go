package limitrule

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
)

type vars map[string]string

func (m vars) Var(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

var fields = [2]string{"rate", "burst"}

func TestParseErrorsNameTheField(t *testing.T) {
	for conf, want := range map[string]string{
		`{"rate": true, "burst": 1}`:                            "rate: ",
		`{"rate": 1, "burst": []}`:                              "burst: ",
		`{"rules": [{"rate": 1, "burst": 1, "key": "$a"}, {}]}`: "rules[1].rate: ",
		`{"rate": 1, "burst": 1, "key_type": "nope"}`:           `unknown key_type "nope"`,
	} {
		_, err := Parse(decode(t, conf), fields, "")
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: error %v, want it to start with %q", conf, err, want)
		}
	}
}

func TestResolve(t *testing.T) {
	c := &plugin.Ctx{Vars: vars{"remote_addr": "10.0.0.1", "http_x": "x1", "n": "7"}, RespHeader: http.Header{}}

	plain, err := Parse(decode(t, `{"rate": "$n", "burst": 2, "rejected_code": 429, "rejected_msg": "slow down"}`), fields, "remote_addr")
	if err != nil {
		t.Fatal(err)
	}
	if plain.FromRules || len(plain.Rules) != 1 || plain.RejectedCode != 429 || plain.RejectedBody == nil {
		t.Fatalf("plain config read as %+v", plain)
	}
	if key, a, b, ok := plain.Resolve(c, 0); !ok || key != "10.0.0.1" || a != 7 || b != 2 {
		t.Errorf("plain: %q %v %v %v", key, a, b, ok)
	}

	rules, err := Parse(decode(t, `{"rules": [
		{"rate": 1, "burst": 0, "key": "$http_missing"},
		{"rate": "$http_x", "burst": 0, "key": "$http_x"},
		{"rate": 3, "burst": 4, "key": "k-${http_x}"}]}`), fields, "")
	if err != nil {
		t.Fatal(err)
	}
	if !rules.FromRules || rules.RejectedCode != 503 {
		t.Fatalf("rules config read as %+v", rules)
	}
	for i, want := range []struct {
		key  string
		a, b float64
		ok   bool
	}{
		{ok: false}, // no variable of the key set
		{ok: false}, // rate is not a number
		{"k-x1", 3, 4, true},
	} {
		key, a, b, ok := rules.Resolve(c, i)
		if key != want.key || a != want.a || b != want.b || ok != want.ok {
			t.Errorf("rules[%d]: %q %v %v %v, want %+v", i, key, a, b, ok, want)
		}
	}
}

func TestFailAndReject(t *testing.T) {
	for _, degrade := range []bool{false, true} {
		cfg := Config{Degrade: degrade, RejectedCode: 503}
		c := &plugin.Ctx{RespHeader: http.Header{}}
		cfg.Fail(c)
		if exited, status, _ := c.Exited(); exited == degrade || (exited && status != http.StatusInternalServerError) {
			t.Errorf("degrade=%v: exited %v with %d", degrade, exited, status)
		}
		cfg.Reject(c)
		if exited, status, _ := c.Exited(); !exited || status != 503 {
			t.Errorf("Reject: exited %v with %d", exited, status)
		}
	}
}

func TestCheckUniqueKeys(t *testing.T) {
	if err := CheckUniqueKeys(decode(t, `{"rules": [{"key": "$a"}, {"key": "$b"}]}`)); err != nil {
		t.Error(err)
	}
	err := CheckUniqueKeys(decode(t, `{"rules": [{"key": "$a"}, {"key": "$a"}]}`))
	if err == nil || err.Error() != "duplicate key '$a' in rules" {
		t.Errorf("duplicate keys: %v", err)
	}
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}
