package client

// stale reports whether an idle connection taken from the pool received
// bytes or the end of the stream while it waited there. Such a
// connection must not carry the next request: unasked-for bytes (a body
// after a HEAD, 204 or 304 answer, or more than Content-Length said,
// arriving after the response was complete) would be read as that
// request's response, and every later response on the connection would
// be one behind, sent to the wrong client. nginx closes an idle upstream
// connection on any read event for the same reason. A connection the
// upstream closed is not worth a request either.
func (c *conn) stale() bool {
	switch nc := c.nc.(type) {
	case interface{ InputPending() bool }: // *evloop.Conn: free unless an edge came
		return nc.InputPending()
	default:
		return inputPending(c.nc)
	}
}
