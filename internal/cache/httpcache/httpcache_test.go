package httpcache

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseCacheControl(t *testing.T) {
	base := Directives{MaxAge: Absent, SMaxAge: Absent, MinFresh: Absent, StaleWhileRevalidate: Absent, StaleIfError: Absent, MaxStale: Absent}
	with := func(f func(*Directives)) Directives { d := base; f(&d); return d }
	for _, tc := range []struct {
		desc string
		in   []string
		want Directives
	}{
		{desc: "empty", in: nil, want: base},
		{desc: "max-age", in: []string{"max-age=60"}, want: with(func(d *Directives) { d.MaxAge = 60 })},
		{desc: "case and spaces", in: []string{" Public ,  MAX-AGE = 5 "}, want: with(func(d *Directives) { d.Public = true; d.MaxAge = 5 })},
		{desc: "quoted value", in: []string{`max-age="30"`}, want: with(func(d *Directives) { d.MaxAge = 30 })},
		{desc: "s-maxage and max-age", in: []string{"s-maxage=10, max-age=100"}, want: with(func(d *Directives) { d.SMaxAge = 10; d.MaxAge = 100 })},
		{desc: "first occurrence wins", in: []string{"max-age=10", "max-age=20"}, want: with(func(d *Directives) { d.MaxAge = 10 })},
		{desc: "bad max-age is stale", in: []string{"max-age=abc"}, want: with(func(d *Directives) { d.MaxAge = 0 })},
		{desc: "negative max-age is stale", in: []string{"max-age=-5"}, want: with(func(d *Directives) { d.MaxAge = 0 })},
		{desc: "huge max-age saturates", in: []string{"max-age=99999999999999999999"}, want: with(func(d *Directives) { d.MaxAge = maxDelta })},
		{desc: "flags", in: []string{"no-store, no-cache, private, must-revalidate, proxy-revalidate, no-transform, only-if-cached, immutable"},
			want: with(func(d *Directives) {
				d.NoStore, d.NoCache, d.Private, d.MustRevalidate, d.ProxyRevalidate, d.NoTransform, d.OnlyIfCached, d.Immutable = true, true, true, true, true, true, true, true
			})},
		{desc: "qualified no-cache with comma", in: []string{`no-cache="set-cookie, x-foo", max-age=3`},
			want: with(func(d *Directives) { d.NoCache = true; d.NoCacheFields = []string{"Set-Cookie", "X-Foo"}; d.MaxAge = 3 })},
		{desc: "qualified private", in: []string{`private="Set-Cookie"`}, want: with(func(d *Directives) { d.Private = true; d.PrivateFields = []string{"Set-Cookie"} })},
		{desc: "rfc 5861", in: []string{"max-age=1, stale-while-revalidate=30, stale-if-error=600"},
			want: with(func(d *Directives) { d.MaxAge = 1; d.StaleWhileRevalidate = 30; d.StaleIfError = 600 })},
		{desc: "request directives", in: []string{"max-stale, min-fresh=5"}, want: with(func(d *Directives) { d.MaxStale = math.MaxInt64; d.MinFresh = 5 })},
		{desc: "max-stale value", in: []string{"max-stale=7"}, want: with(func(d *Directives) { d.MaxStale = 7 })},
		{desc: "unknown and junk", in: []string{`foo, bar="x,y", ,, =, max-age=2`}, want: with(func(d *Directives) { d.MaxAge = 2 })},
		{desc: "unterminated quote", in: []string{`no-cache="abc`}, want: with(func(d *Directives) { d.NoCache = true; d.NoCacheFields = []string{"Abc"} })},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ParseCacheControlValues(tc.in)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60", `no-cache="a,b", private`, "s-maxage=1,stale-while-revalidate=2", `x="\"`, "max-stale", ",,=,", "max-age=99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseCacheControlValues([]string{s})
		for _, v := range []int64{d.MaxAge, d.SMaxAge, d.MinFresh, d.StaleWhileRevalidate, d.StaleIfError} {
			if v < Absent || v > maxDelta {
				t.Fatalf("%q: delta out of range: %+v", s, d)
			}
		}
		if d.MaxStale < Absent {
			t.Fatalf("%q: max-stale %d", s, d.MaxStale)
		}
		// Splitting the same text into field lines at a comma outside
		// quotes must not change the result for simple inputs; at least
		// parsing twice is deterministic.
		if diff := cmp.Diff(d, ParseCacheControlValues([]string{s})); diff != "" {
			t.Fatalf("not deterministic: %s", diff)
		}
	})
}

func TestLifetimeAndAge(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	date := now.Add(-10 * time.Second).Format(http.TimeFormat)
	for _, tc := range []struct {
		desc     string
		h        http.Header
		def      time.Duration
		want     time.Duration
		explicit bool
	}{
		{desc: "s-maxage beats max-age", h: http.Header{"Cache-Control": {"max-age=100, s-maxage=7"}}, want: 7 * time.Second, explicit: true},
		{desc: "max-age beats expires", h: http.Header{"Cache-Control": {"max-age=100"}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, want: 100 * time.Second, explicit: true},
		{desc: "expires minus date", h: http.Header{"Date": {date}, "Expires": {now.Add(50 * time.Second).Format(http.TimeFormat)}}, want: 60 * time.Second, explicit: true},
		{desc: "bad expires is expired", h: http.Header{"Expires": {"0"}}, want: 0, explicit: true},
		{desc: "past expires", h: http.Header{"Expires": {now.Add(-time.Hour).Format(http.TimeFormat)}}, want: 0, explicit: true},
		{desc: "nothing: heuristic", h: http.Header{}, def: 10 * time.Second, want: 10 * time.Second},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, explicit := Lifetime(ParseCacheControl(tc.h), tc.h, now, tc.def)
			if got != tc.want || explicit != tc.explicit {
				t.Errorf("got %v,%v want %v,%v", got, explicit, tc.want, tc.explicit)
			}
		})
	}
	// Age: the larger of Date-apparent age and Age + round trip.
	h := http.Header{"Date": {date}, "Age": {"3"}}
	if got := InitialAge(h, now.Add(-time.Second), now); got != 10*time.Second {
		t.Errorf("apparent age: %v", got)
	}
	h = http.Header{"Date": {now.Format(http.TimeFormat)}, "Age": {"30"}}
	if got := InitialAge(h, now.Add(-2*time.Second), now); got != 32*time.Second {
		t.Errorf("age field + delay: %v", got)
	}
}

func TestStorable(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		req    http.Header
		resp   http.Header
		status int
		want   string
	}{
		{desc: "plain", resp: http.Header{}, status: 200},
		{desc: "no-store", resp: http.Header{"Cache-Control": {"no-store"}}, status: 200, want: "no-store"},
		{desc: "private", resp: http.Header{"Cache-Control": {"private, max-age=10"}}, status: 200, want: "private"},
		{desc: "qualified private is stored", resp: http.Header{"Cache-Control": {`private="Set-Cookie"`}}, status: 200},
		{desc: "vary star", resp: http.Header{"Vary": {"Accept, *"}}, status: 200, want: "vary *"},
		{desc: "partial", resp: http.Header{}, status: 206, want: "partial content"},
		{desc: "authorization", req: http.Header{"Authorization": {"x"}}, resp: http.Header{"Cache-Control": {"max-age=5"}}, status: 200, want: "authorization"},
		{desc: "authorization with public", req: http.Header{"Authorization": {"x"}}, resp: http.Header{"Cache-Control": {"public, max-age=5"}}, status: 200},
		{desc: "authorization with s-maxage", req: http.Header{"Authorization": {"x"}}, resp: http.Header{"Cache-Control": {"s-maxage=5"}}, status: 200},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			req := tc.req
			if req == nil {
				req = http.Header{}
			}
			ok, why := Storable(req, ParseCacheControl(tc.resp), tc.status, tc.resp)
			if ok != (tc.want == "") || why != tc.want {
				t.Errorf("got %v %q, want %q", ok, why, tc.want)
			}
		})
	}
}

func TestVary(t *testing.T) {
	names, star := VaryFields(http.Header{"Vary": {"accept-encoding, Accept", "ACCEPT"}})
	if star || !cmp.Equal(names, []string{"Accept", "Accept-Encoding"}) {
		t.Fatalf("names %v star %v", names, star)
	}
	a := VariantHash(names, http.Header{"Accept-Encoding": {"gzip"}})
	b := VariantHash(names, http.Header{"Accept-Encoding": {" gzip "}})
	c := VariantHash(names, http.Header{"Accept-Encoding": {"br"}})
	d := VariantHash(names, http.Header{"Accept": {"gzip"}})
	if a != b || a == c || a == d || a == 0 {
		t.Errorf("hashes %x %x %x %x", a, b, c, d)
	}
	if VariantHash(nil, http.Header{}) != 0 {
		t.Error("no vary must hash to 0")
	}
}

func TestConditionals(t *testing.T) {
	lm := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stored := http.Header{"Etag": {`"v1"`}, "Last-Modified": {lm.Format(http.TimeFormat)}}
	for _, tc := range []struct {
		desc   string
		method string
		req    http.Header
		want   bool
	}{
		{desc: "inm match", req: http.Header{"If-None-Match": {`"v0", "v1"`}}, want: true},
		{desc: "inm weak match", req: http.Header{"If-None-Match": {`W/"v1"`}}, want: true},
		{desc: "inm star", req: http.Header{"If-None-Match": {`*`}}, want: true},
		{desc: "inm mismatch beats ims", req: http.Header{"If-None-Match": {`"v2"`}, "If-Modified-Since": {lm.Format(http.TimeFormat)}}, want: false},
		{desc: "ims equal", req: http.Header{"If-Modified-Since": {lm.Format(http.TimeFormat)}}, want: true},
		{desc: "ims later", req: http.Header{"If-Modified-Since": {lm.Add(time.Hour).Format(http.TimeFormat)}}, want: true},
		{desc: "ims earlier", req: http.Header{"If-Modified-Since": {lm.Add(-time.Hour).Format(http.TimeFormat)}}, want: false},
		{desc: "post never", method: "POST", req: http.Header{"If-None-Match": {`"v1"`}}, want: false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			m := tc.method
			if m == "" {
				m = "GET"
			}
			if got := NotModified(m, tc.req, stored); got != tc.want {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestRange(t *testing.T) {
	lm := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	stored := http.Header{"Etag": {`"v1"`}, "Last-Modified": {lm}}
	for _, tc := range []struct {
		desc          string
		req           http.Header
		kind          RangeKind
		start, length int64
	}{
		{desc: "none", req: http.Header{}, kind: RangeNone},
		{desc: "first bytes", req: http.Header{"Range": {"bytes=0-9"}}, kind: RangeOK, start: 0, length: 10},
		{desc: "open end", req: http.Header{"Range": {"bytes=95-"}}, kind: RangeOK, start: 95, length: 5},
		{desc: "end clamps", req: http.Header{"Range": {"bytes=90-1000"}}, kind: RangeOK, start: 90, length: 10},
		{desc: "suffix", req: http.Header{"Range": {"bytes=-3"}}, kind: RangeOK, start: 97, length: 3},
		{desc: "suffix larger than size", req: http.Header{"Range": {"bytes=-300"}}, kind: RangeOK, start: 0, length: 100},
		{desc: "unsatisfiable", req: http.Header{"Range": {"bytes=100-"}}, kind: RangeUnsatisfiable},
		{desc: "multi ranges ignored", req: http.Header{"Range": {"bytes=0-1,5-6"}}, kind: RangeNone},
		{desc: "bad unit", req: http.Header{"Range": {"items=0-1"}}, kind: RangeNone},
		{desc: "inverted", req: http.Header{"Range": {"bytes=5-1"}}, kind: RangeNone},
		{desc: "if-range etag match", req: http.Header{"Range": {"bytes=0-0"}, "If-Range": {`"v1"`}}, kind: RangeOK, length: 1},
		{desc: "if-range etag mismatch", req: http.Header{"Range": {"bytes=0-0"}, "If-Range": {`"v2"`}}, kind: RangeNone},
		{desc: "if-range date match", req: http.Header{"Range": {"bytes=0-0"}, "If-Range": {lm}}, kind: RangeOK, length: 1},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			kind, start, length := Range(tc.req, stored, 100)
			if kind != tc.kind || start != tc.start || length != tc.length {
				t.Errorf("got %v %d %d", kind, start, length)
			}
		})
	}
	if got := ContentRange(95, 5, 100); got != "bytes 95-99/100" {
		t.Error(got)
	}
}

func TestUpdateHeaders(t *testing.T) {
	stored := http.Header{"Etag": {`"a"`}, "Content-Length": {"5"}, "Cache-Control": {"max-age=1"}, "X-Old": {"1"}}
	got := UpdateHeaders(stored, http.Header{"Cache-Control": {"max-age=60"}, "Content-Length": {"0"}, "X-New": {"2"}})
	want := http.Header{"Etag": {`"a"`}, "Content-Length": {"5"}, "Cache-Control": {"max-age=60"}, "X-Old": {"1"}, "X-New": {"2"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if stored.Get("Cache-Control") != "max-age=1" {
		t.Error("stored header changed")
	}
}
