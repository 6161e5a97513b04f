package requestvalidation

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeArgs(t *testing.T) {
	got := decodeArgs("a=1&b&a=2&c=x%20y&&d=&e=%zz")
	want := map[string]any{"a": []any{"1", "2"}, "b": true, "c": "x y", "d": "", "e": "%zz"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func FuzzDecodeArgs(f *testing.F) {
	for _, s := range []string{"a=1&a=2&a", "=&=", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _ = decodeArgs(s) })
}
