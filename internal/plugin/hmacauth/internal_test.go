package hmacauth

import (
	"reflect"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want params
	}{
		{`Signature keyId="k",algorithm="hmac-sha256",headers="@request-target date",signature="c2ln"`,
			params{keyID: "k", algorithm: "hmac-sha256", signature: "c2ln", headers: []string{"@request-target", "date"}, hasHeaders: true}},
		{`Signature  keyId="k" , signature="a=b"`, params{keyID: "k", signature: "a=b"}},
		{`Signature keyId=k,signature="s"`, params{signature: "s"}},
		{`Signature keyId="k,x",signature="s"`, params{signature: "s"}},
		{`Signature headers="a  b"`, params{headers: []string{"a", "", "b"}, hasHeaders: true}},
		{`Signature -="x" keyId="k"`, params{keyID: "k"}},
		{`Signature keyId="unterminated`, params{}},
		{`Signature`, params{}},
	} {
		if got := parseAuthorization(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseAuthorization(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
