package requestid

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// requestID is request-id compiled: it tags the request (and, by default,
// the response) with an id, keeping one the client already sent.
type requestID struct {
	header    string
	inResp    bool
	algorithm string
	rangeLen  int
	charset   string
}

var (
	_ plugin.Rewriter       = (*requestID)(nil)
	_ plugin.HeaderFilterer = (*requestID)(nil)
)

func newRequestID(conf map[string]any) (any, error) {
	r := &requestID{header: "X-Request-Id", inResp: true, algorithm: "uuid", rangeLen: 16,
		charset: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}
	if h, ok := conf["header_name"].(string); ok {
		r.header = http.CanonicalHeaderKey(h)
	}
	if b, ok := conf["include_in_response"].(bool); ok {
		r.inResp = b
	}
	if a, ok := conf["algorithm"].(string); ok {
		r.algorithm = a
	}
	if rc, ok := conf["range_id"].(map[string]any); ok {
		if n, ok := rc["length"].(json.Number); ok {
			if v, err := n.Int64(); err == nil {
				r.rangeLen = int(v)
			}
		}
		if cs, ok := rc["char_set"].(string); ok {
			r.charset = cs
		}
	}
	return r, nil
}

func (r *requestID) generate() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	switch r.algorithm {
	case "uuidv7":
		// RFC 9562: 48-bit Unix milliseconds, version 7, variant 10.
		ms := uint64(time.Now().UnixMilli())
		for i := 0; i < 6; i++ {
			b[i] = byte(ms >> (40 - 8*i))
		}
		b[6] = b[6]&0x0f | 0x70
		b[8] = b[8]&0x3f | 0x80
	case "range_id", "nanoid":
		n, cs := r.rangeLen, r.charset
		if r.algorithm == "nanoid" {
			n, cs = 21, "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		}
		out := make([]byte, n)
		rnd := make([]byte, n)
		_, _ = rand.Read(rnd)
		for i := range out {
			out[i] = cs[int(rnd[i])%len(cs)]
		}
		return string(out)
	case "ksuid":
		// 4-byte timestamp (KSUID epoch 1400000000) + 16 random bytes, hex.
		var k [20]byte
		binary.BigEndian.PutUint32(k[:4], uint32(time.Now().Unix()-1400000000))
		copy(k[4:], b[:])
		return hex.EncodeToString(k[:])
	default:
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
	}
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (r *requestID) Rewrite(c *plugin.Ctx) {
	id := c.Req.Header.Get(r.header)
	if id == "" {
		id = r.generate()
		c.Req.Header.Set(r.header, id)
	}
	if r.inResp {
		c.RespHeader.Set(r.header, id)
	}
}

func (r *requestID) HeaderFilter(c *plugin.Ctx, _ int, h http.Header) {
	if r.inResp {
		h.Set(r.header, c.Req.Header.Get(r.header))
	}
}
