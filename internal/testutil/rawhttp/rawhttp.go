// Package rawhttp is HTTP/1.1 at the byte level for tests and benchmarks:
// a minimal origin that answers every bodiless request on a connection
// with one prebuilt response and allocates nothing per request (so a
// profile of the code under test is not mixed with a server's), and a
// keep-alive client that sends requests exactly as written.
package rawhttp

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Client is one keep-alive connection whose requests are written byte for
// byte as given; answers are read with net/http's parser.
type Client struct {
	c  net.Conn
	br *bufio.Reader
}

// Dial connects a Client to addr.
func Dial(addr string) (*Client, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Client{c: c, br: bufio.NewReader(c)}, nil
}

// Do writes one raw request and reads its answer, body included.
func (c *Client) Do(raw string) (*http.Response, string, error) {
	if _, err := io.WriteString(c.c, raw); err != nil {
		return nil, "", err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }

// ServeCanned answers requests read from br (GETs: no body) with resp
// until the connection fails.
func ServeCanned(c net.Conn, br *bufio.Reader, resp []byte) {
	for {
		// A request without a body ends with an empty line.
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

// Upstream serves resp on a loopback port until the test ends and returns
// its address.
func Upstream(tb testing.TB, resp []byte) string {
	return Listen(tb, func(c net.Conn) { ServeCanned(c, bufio.NewReader(c), resp) })
}

// Listen accepts connections on a loopback port until the test ends,
// each served by serve in a goroutine of its own and closed when serve
// returns, and returns the address.
func Listen(tb testing.TB, serve func(c net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// Fields is h in a form tests compare: "Name=[\"v1\" \"v2\"]" per field,
// sorted, comma-separated, without the fields named in skip.
func Fields(h http.Header, skip ...string) string {
	fields := []string{}
	for k, v := range h {
		if !slices.Contains(skip, k) {
			fields = append(fields, fmt.Sprintf("%s=%q", k, v))
		}
	}
	slices.Sort(fields)
	return strings.Join(fields, ",")
}
