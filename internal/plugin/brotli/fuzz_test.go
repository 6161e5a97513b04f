package brotli

import "testing"

func TestAcceptsBr(t *testing.T) {
	for ae, want := range map[string]bool{
		"br": true, "*": true, "gzip, deflate, br": true, "br;q=0.5": true, "br;q=0": false, "br;q=0.0": true,
		"gzip;q=0, *": true, "*;q=0": false, "gzip": false, "brotli": false, "BR": false, "": false,
	} {
		if got := acceptsBr(ae); got != want {
			t.Errorf("%q: %v, want %v", ae, got, want)
		}
	}
}

func FuzzAcceptsBr(f *testing.F) {
	for _, s := range []string{"br;q=", "gzip;q=1.0, br", "*;q=0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _ = acceptsBr(s) })
}
