package clientcontrol

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// clientControl is client-control compiled: it caps the request body.
type clientControl struct {
	max int64 // bytes; 0 or absent: no cap
	set bool
}

var _ plugin.Rewriter = (*clientControl)(nil)

func newClientControl(conf map[string]any) (any, error) {
	c := &clientControl{}
	if n, ok := conf["max_body_size"].(json.Number); ok {
		v, err := n.Int64()
		if err != nil {
			return nil, err
		}
		c.max, c.set = v, true
	}
	return c, nil
}

// Rewrite implements plugin.Rewriter. A declared Content-Length over the
// cap is refused at once with nginx's 413 page, as APISIX does; a body of
// unknown length (chunked) is read up to the cap, as nginx reads it
// against client_max_body_size, and refused with 413 when it goes over.
func (cc *clientControl) Rewrite(c *plugin.Ctx) {
	if !cc.set || cc.max == 0 {
		return
	}
	r := c.Req
	if r.ContentLength > cc.max {
		c.Exit(http.StatusRequestEntityTooLarge, nil)
		return
	}
	if r.ContentLength >= 0 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r.Body, cc.max+1))
	if n > cc.max {
		c.Exit(http.StatusRequestEntityTooLarge, nil)
		return
	}
	if err != nil {
		c.Exit(http.StatusBadRequest, nil)
		return
	}
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	r.ContentLength = n
}
