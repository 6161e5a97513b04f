package childproc

import "testing"

func TestAttr(t *testing.T) {
	a, b := Attr(), Attr()
	if a == nil || a == b {
		t.Fatalf("Attr() = %p, %p: want two distinct non-nil attributes", a, b)
	}
	a.Setpgid = true
	if b.Setpgid {
		t.Fatal("attributes are shared between calls")
	}
}
