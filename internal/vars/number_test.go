package vars

import (
	"math"
	"testing"
)

func TestLuaToNumber(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true},
		{"18", 18, true},
		{"007", 7, true},
		{"123456789012345678901234567890", 1.2345678901234568e29, true},
		{"-1", -1, true},
		{"+1", 1, true},
		{"1.5", 1.5, true},
		{"1.", 1, true},
		{".5", 0.5, true},
		{"-.5", -0.5, true},
		{"1e3", 1000, true},
		{"1E+3", 1000, true},
		{"25e-1", 2.5, true},
		{"1e400", inf, true},
		{" 12 ", 12, true},
		{"\t\n12\r\v\f", 12, true},
		{"0x10", 16, true},
		{"0XfF", 255, true},
		{"-0x10", -16, true},
		{"0x1.8", 1.5, true},
		{"0x.8", 0.5, true},
		{"0x1p4", 16, true},
		{"0x1P-1", 0.5, true},
		{"0xffffffffffffffffff", 4.722366482869645e21, true},
		{"inf", inf, true},
		{"-Inf", math.Inf(-1), true},
		{"INFINITY", inf, true},
		{" +infinity ", inf, true},
		{"", 0, false},
		{" ", 0, false},
		{"-", 0, false},
		{".", 0, false},
		{"1..2", 0, false},
		{"1.2.3", 0, false},
		{"1e", 0, false},
		{"1e+", 0, false},
		{"1e1048576", 0, false},
		{"0x", 0, false},
		{"0x1e", 30, true},
		{"0x1p", 0, false},
		{"1_000", 0, false},
		{"12a", 0, false},
		{"a12", 0, false},
		{"1 2", 0, false},
		{"- 1", 0, false},
		{"infx", 0, false},
		{"infinit", 0, false},
		{"in", 0, false},
		{"1LL", 0, false},
		{"1i", 0, false},
		{"1\x00", 0, false},
		{"0b101", 0, false},
		{"++1", 0, false},
	}
	for _, tt := range tests {
		got, ok := luaToNumber(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("luaToNumber(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	for _, s := range []string{"nan", "NaN", "-nan", " nan "} {
		if got, ok := luaToNumber(s); !ok || !math.IsNaN(got) {
			t.Errorf("luaToNumber(%q) = %v, %v; want NaN, true", s, got, ok)
		}
	}
}

func TestLuaNumberString(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{5, "5"},
		{-5, "-5"},
		{1.5, "1.5"},
		{0.1, "0.1"},
		{100, "100"},
		{1e14, "1e+14"},
		{123456789012345, "1.2345678901234e+14"},
		{1e-5, "1e-05"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, tt := range tests {
		if got := luaNumberString(tt.in); got != tt.want {
			t.Errorf("luaNumberString(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLuaToNumberDoesNotAllocate(t *testing.T) {
	for _, s := range []string{"12", " 1.5e3 ", "0x1p4", "abc", "1e", "inf"} {
		if n := testing.AllocsPerRun(100, func() { luaToNumber(s) }); n != 0 {
			t.Errorf("luaToNumber(%q) allocates %v times", s, n)
		}
	}
}
