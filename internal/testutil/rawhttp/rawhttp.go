// Package rawhttp is a minimal HTTP/1.1 origin for benchmarks: it answers
// every bodiless request on a connection with one prebuilt response and
// allocates nothing per request, so a profile of the code under test is
// not mixed with a server's.
package rawhttp

import (
	"bufio"
	"net"
	"testing"
)

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
				ServeCanned(c, bufio.NewReader(c), resp)
			}()
		}
	}()
	return ln.Addr().String()
}
