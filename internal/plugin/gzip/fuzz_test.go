package gzip

import "testing"

func TestGzipAccepted(t *testing.T) {
	for ae, want := range map[string]bool{
		"gzip": true, "GZIP": true, "deflate, gzip": true, "gzip, deflate": true, "br,gzip": true,
		"gzip;q=1": true, "gzip; q=0.5": true, "gzip;q=0": false, "gzip;q=0.0": false, "gzip;q=0.000": false,
		"gzip;q=1.5": false, "gzip;q=": false, "x-gzip": false, "gzipx": false, "deflate": false, "": false,
		"gzip ;q=0.1": true, "gzip;x=1": false,
	} {
		if got := gzipAccepted(ae); got != want {
			t.Errorf("%q: %v, want %v", ae, got, want)
		}
	}
}

func FuzzGzipAccepted(f *testing.F) {
	for _, s := range []string{"gzip;q=0.5", "gzip;q", "gzip; q=1.000", ",gzip"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _ = gzipAccepted(s) })
}
