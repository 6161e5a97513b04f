package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

// The Go floor is the least a Go HTTP/1.1 forwarder built the way
// Stargate is (a goroutine per client connection on the runtime's network
// poller, blocking reads and writes) can cost per request: it reads the
// request head, adds X-Forwarded-For/X-Real-IP, writes it to its own
// kept-alive upstream connection, reads the answer's head and its
// Content-Length body and writes them back in one write. No routing, no
// plugins, no header map, no limits or timeouts, GET-only. Measured next
// to nginx and Stargate in the same round, it separates what the runtime
// model costs on this host (floor vs nginx) from what Stargate's own code
// costs (Stargate vs floor).
//
// It runs as a child process of the benchmark (the binary re-executed
// with its floor's argument), so its CPU is metered like the other
// servers'. floor_epoll_linux.go is the second floor, the same forwarding
// from event loops.
const (
	floorArg      = "-go-floor-forwarder"
	epollFloorArg = "-go-epoll-floor-forwarder"
)

// floors are the reference forwarders, in report order.
var floors = []struct{ key, name, arg string }{
	{"floor", "Go floor", floorArg},
	{"epoll", "Go epoll floor", epollFloorArg},
}

// floorMain is the child: floorMain(listen, upstream) serves until killed.
func floorMain(listen, upstream string) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go floor:", err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "go floor:", err)
			os.Exit(1)
		}
		go floorConn(c, upstream)
	}
}

func floorConn(c net.Conn, upstream string) {
	defer c.Close()
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer u.Close()
	remote, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	fwd := forwardHeaders(remote)
	cr, ur := bufio.NewReaderSize(c, 8192), bufio.NewReaderSize(u, 8192)
	var head, out []byte
	for {
		if head, err = readHead(cr, head[:0]); err != nil {
			return
		}
		// head ends with the blank line: put the forwarding headers before it.
		head = append(head[:len(head)-2], fwd...)
		if _, err := u.Write(head); err != nil {
			return
		}
		if out, err = readHead(ur, out[:0]); err != nil {
			return
		}
		n := contentLength(out)
		if n < 0 {
			return // the floor handles Content-Length answers only
		}
		h := len(out)
		out = append(out, make([]byte, n)...)
		if _, err := io.ReadFull(ur, out[h:]); err != nil {
			return
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// forwardHeaders is what both floors put in place of a request head's
// blank line: the client's address as X-Forwarded-For and X-Real-IP, and
// the blank line.
func forwardHeaders(remote string) []byte {
	return []byte("X-Forwarded-For: " + remote + "\r\nX-Real-IP: " + remote + "\r\n\r\n")
}

// readHead appends lines up to and including the blank line to b.
func readHead(r *bufio.Reader, b []byte) ([]byte, error) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return b, err
		}
		b = append(b, line...)
		if len(line) <= 2 {
			return b, nil
		}
		if len(b) > 64<<10 {
			return b, errors.New("head too large")
		}
	}
}

func contentLength(head []byte) int {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// floorProc is a running floor.
type floorProc struct {
	key, name string
	p         *benchkit.Proc
	addr      string
}

func (f *floorProc) pids() []int { return []int{f.p.Pid()} }

func (f *floorProc) stop() {
	if f != nil {
		f.p.Stop()
	}
}

// startFloor re-executes this binary as a floor (arg) in front of upstream.
func startFloor(ctx context.Context, dir, key, name, arg, upstream string) (*floorProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ports, err := benchkit.FreePorts(1)
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	p, err := benchkit.StartProc(name, filepath.Join(dir, key+"-floor.out"), exec.Command(self, arg, addr, upstream), childEnv)
	if err != nil {
		return nil, err
	}
	if err := waitStarted(ctx, p, name, func() bool { return listening(addr) }, func() string { return "" }); err != nil {
		return nil, err
	}
	return &floorProc{key: key, name: name, p: p, addr: addr}, nil
}
