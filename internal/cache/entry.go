package cache

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Entry is one stored response (one Vary variant of a key). Its exported
// fields never change once the entry is published; do not modify them.
//
// The layout is kept small: a disk zone holds one Entry per object in
// memory (see TestIndexMemoryPerEntry).
type Entry struct {
	skey string // storage key: the cache key, or key + "\x00" + 16 hex digits of the variant
	url  string // "" when the URL is scheme + "://" + key (flagDerivedURL)

	// Size is the body's length in bytes.
	Size int64
	// StoredAt is when the response was received, unix milliseconds.
	StoredAt int64
	// ExpiresAt is when it stops being fresh, unix milliseconds.
	ExpiresAt int64

	gen  uint64    // disk: file id
	mem  *memEntry // memory: header and body
	prev *Entry    // disk: CLOCK ring
	next *Entry

	// Age0 is the response's corrected initial age (RFC 9111 §4.2.3) in
	// seconds: Age = Age0 + seconds since StoredAt.
	Age0 int32
	// SWR and SIE are the stale-while-revalidate and stale-if-error windows
	// in seconds, -1 when the response gave none.
	SWR, SIE int32
	hdrLen   uint32 // bytes of metadata and header (disk: in the file)
	ref      atomic.Uint32
	Status   uint16
	method   uint8
	flags    uint8
}

const (
	flagDerivedURL = 1 << iota
	flagHTTPS
	flagMustRevalidate
	flagNoCache
	flagValidators
)

// ref bits.
const (
	refUsed     = 1 // CLOCK: read since the hand last passed
	refVerified = 2 // disk: checksum verified in this process
	refDead     = 4 // memory: purged, never served; awaiting removal
)

var methods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE"}

func methodCode(m string) uint8 {
	for i, s := range methods {
		if s == m {
			return uint8(i)
		}
	}
	return 0
}

// Key is the entry's cache key.
func (e *Entry) Key() string {
	if i := strings.IndexByte(e.skey, 0); i >= 0 {
		return e.skey[:i]
	}
	return e.skey
}

// StorageKey is the key plus the variant, unique in the zone.
func (e *Entry) StorageKey() string { return e.skey }

// Variant is the hash of the request fields the response varies on (0
// when it does not vary).
func (e *Entry) Variant() uint64 {
	i := strings.IndexByte(e.skey, 0)
	if i < 0 {
		return 0
	}
	v, _ := strconv.ParseUint(e.skey[i+1:], 16, 64)
	return v
}

// URL is the URL the response was fetched for.
func (e *Entry) URL() string {
	if e.flags&flagDerivedURL == 0 {
		return e.url
	}
	if e.flags&flagHTTPS != 0 {
		return "https://" + e.Key()
	}
	return "http://" + e.Key()
}

// HostPath is the URL without its scheme ("host/path?query").
func (e *Entry) HostPath() string {
	if e.flags&flagDerivedURL != 0 {
		return e.Key()
	}
	if i := strings.Index(e.url, "://"); i >= 0 {
		return e.url[i+3:]
	}
	return e.url
}

// Method is the request method the response answered.
func (e *Entry) Method() string { return methods[e.method] }

// MustRevalidate: never served stale (must-revalidate, proxy-revalidate,
// s-maxage).
func (e *Entry) MustRevalidate() bool { return e.flags&flagMustRevalidate != 0 }

// NoCache: revalidated before every use.
func (e *Entry) NoCache() bool { return e.flags&flagNoCache != 0 }

// HasValidators: the response has an ETag or Last-Modified.
func (e *Entry) HasValidators() bool { return e.flags&flagValidators != 0 }

// Fresh reports whether the entry is fresh at now.
func (e *Entry) Fresh(now time.Time) bool {
	return e.flags&flagNoCache == 0 && now.UnixMilli() < e.ExpiresAt
}

// Age is the entry's current age (RFC 9111 §4.2.3).
func (e *Entry) Age(now time.Time) time.Duration {
	d := time.Duration(e.Age0)*time.Second + time.Duration(now.UnixMilli()-e.StoredAt)*time.Millisecond
	if d < 0 {
		return 0
	}
	return d
}

// Staleness is how long ago the entry stopped being fresh (<= 0 when it
// is fresh).
func (e *Entry) Staleness(now time.Time) time.Duration {
	return time.Duration(now.UnixMilli()-e.ExpiresAt) * time.Millisecond
}

// Meta describes a response to store.
type Meta struct {
	// Key is the cache key; Vary the sorted field names the response
	// varies on and Variant the hash of the request's values of them
	// (httpcache.VariantHash).
	Key     string
	Vary    []string
	Variant uint64
	URL     string
	Method  string
	Status  int
	// Header is stored as is (the caller removed what must not be
	// stored); the zone sets Content-Length.
	Header     http.Header
	StoredAt   time.Time
	ExpiresAt  time.Time
	InitialAge time.Duration
	// SWR and SIE in seconds, -1 when absent.
	SWR, SIE       int
	MustRevalidate bool
	NoCache        bool
}

func storageKey(key string, variant uint64) string {
	if variant == 0 {
		return key
	}
	const hex = "0123456789abcdef"
	b := make([]byte, len(key)+17)
	copy(b, key)
	b[len(key)] = 0
	for i := 0; i < 16; i++ {
		b[len(b)-1-i] = hex[variant>>(4*i)&0xf]
	}
	return string(b)
}

// newEntry builds the index part of an entry from m.
func newEntry(m *Meta, size int64) *Entry {
	e := &Entry{
		skey:      storageKey(m.Key, m.Variant),
		Size:      size,
		StoredAt:  m.StoredAt.UnixMilli(),
		ExpiresAt: m.ExpiresAt.UnixMilli(),
		Age0:      int32(min(m.InitialAge/time.Second, 1<<31-1)),
		SWR:       int32(min(max(m.SWR, -1), 1<<31-1)),
		SIE:       int32(min(max(m.SIE, -1), 1<<31-1)),
		Status:    uint16(m.Status),
		method:    methodCode(m.Method),
	}
	switch {
	case m.URL == "http://"+m.Key:
		e.flags |= flagDerivedURL
	case m.URL == "https://"+m.Key:
		e.flags |= flagDerivedURL | flagHTTPS
	default:
		e.url = m.URL
	}
	if m.MustRevalidate {
		e.flags |= flagMustRevalidate
	}
	if m.NoCache {
		e.flags |= flagNoCache
	}
	if m.Header.Get("Etag") != "" || m.Header.Get("Last-Modified") != "" {
		e.flags |= flagValidators
	}
	return e
}

// headerSize estimates a header's bytes on the wire.
func headerSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
