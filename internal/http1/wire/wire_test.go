package wire

import "testing"

func TestParseChunkSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1a", 26, true},
		{"FF;name=value", 255, true},
		{"5 ;ext", 5, true},
		{"5\t", 5, true},
		{"", 0, false},
		{";ext", 0, false},
		{"5 junk", 0, false},
		{"-5", 0, false},
		{"5;ext\x00", 0, false},
		{"fffffffffffffffff", 0, false}, // overflow
	} {
		got, ok := ParseChunkSize([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("ParseChunkSize(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseLength(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1024", 1024, true},
		{"999999999999999999", 999999999999999999, true},
		{"1234567890123456789", 0, false},
		{"", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1a", 0, false},
	} {
		got, ok := ParseLength(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseLength(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestTargetAndOWS(t *testing.T) {
	for in, want := range map[string]bool{"/a?b=c": true, "/a b": false, "/a\x7f": false, "/a\tb": false, "": true} {
		if ValidTarget(in) != want {
			t.Errorf("ValidTarget(%q) != %v", in, want)
		}
	}
	for in, want := range map[string]string{" \ta b\t ": "a b", "": "", "x": "x"} {
		if got := TrimOWS(in); got != want {
			t.Errorf("TrimOWS(%q) = %q", in, got)
		}
	}
}
