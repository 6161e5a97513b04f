package cache

import (
	"encoding/binary"
	"errors"
	"net/http"
)

// The binary form of an entry's metadata, shared by object files and the
// index log.

var errShort = errors.New("cache: short record")

type enc struct{ b []byte }

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *enc) uv(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) str(s string) { e.uv(uint64(len(s))); e.b = append(e.b, s...) }

type dec struct {
	b   []byte
	err error
	// s, when set, is the whole input as a string: str slices it instead
	// of allocating each string (one allocation per record).
	s string
}

func newDecShared(b []byte) dec { return dec{b: b, s: string(b)} }

func (d *dec) need(n int) bool {
	if d.err != nil {
		return false
	}
	if len(d.b) < n {
		d.err = errShort
		return false
	}
	return true
}

func (d *dec) u8() uint8 {
	if !d.need(1) {
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) u16() uint16 {
	if !d.need(2) {
		return 0
	}
	v := binary.LittleEndian.Uint16(d.b)
	d.b = d.b[2:]
	return v
}

func (d *dec) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *dec) u64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *dec) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string {
	n := d.uv()
	if d.err != nil || uint64(len(d.b)) < n {
		d.err = errShort
		return ""
	}
	var s string
	if d.s != "" {
		pos := len(d.s) - len(d.b)
		s = d.s[pos : pos+int(n)]
	} else {
		s = string(d.b[:n])
	}
	d.b = d.b[n:]
	return s
}

// putEntry encodes an entry's index fields.
func putEntry(e *enc, x *Entry, vary []string) {
	e.str(x.skey)
	e.str(x.url)
	e.u64(x.gen)
	e.u64(uint64(x.Size))
	e.u64(uint64(x.StoredAt))
	e.u64(uint64(x.ExpiresAt))
	e.u32(uint32(x.Age0))
	e.u32(uint32(x.SWR))
	e.u32(uint32(x.SIE))
	e.u32(x.hdrLen)
	e.u16(x.Status)
	e.u8(x.method)
	e.u8(x.flags)
	e.uv(uint64(len(vary)))
	for _, v := range vary {
		e.str(v)
	}
}

func getEntry(d *dec) (*Entry, []string) {
	x := &Entry{}
	x.skey = d.str()
	x.url = d.str()
	x.gen = d.u64()
	x.Size = int64(d.u64())
	x.StoredAt = int64(d.u64())
	x.ExpiresAt = int64(d.u64())
	x.Age0 = int32(d.u32())
	x.SWR = int32(d.u32())
	x.SIE = int32(d.u32())
	x.hdrLen = d.u32()
	x.Status = d.u16()
	x.method = d.u8()
	x.flags = d.u8()
	n := d.uv()
	if n > 64 {
		d.err = errShort
	}
	var vary []string
	for i := uint64(0); i < n && d.err == nil; i++ {
		vary = append(vary, d.str())
	}
	if int(x.method) >= len(methods) {
		x.method = 0
	}
	return x, vary
}

func putHeader(e *enc, h http.Header) {
	e.uv(uint64(len(h)))
	for k, vs := range h {
		e.str(k)
		e.uv(uint64(len(vs)))
		for _, v := range vs {
			e.str(v)
		}
	}
}

func getHeader(d *dec) http.Header {
	n := d.uv()
	if n > 1<<16 {
		d.err = errShort
		return nil
	}
	h := make(http.Header, n+2)
	all := make([]string, 0, n+1) // every value, sliced per field
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.str()
		m := d.uv()
		if m > 1<<16 {
			d.err = errShort
			return nil
		}
		start := len(all)
		for j := uint64(0); j < m && d.err == nil; j++ {
			all = append(all, d.str())
		}
		h[k] = all[start:len(all):len(all)]
	}
	return h
}
