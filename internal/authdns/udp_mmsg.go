//go:build linux && (amd64 || arm64)

package authdns

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgBatch is how many datagrams one recvmmsg/sendmmsg moves.
const mmsgBatch = 64

// mmsgBuf is the size of each datagram buffer: a query (or an answer over
// UDP, capped at maxUDP) never needs more.
const mmsgBuf = maxUDP

type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// udpBatch holds one reader's buffers: received queries and their answers
// travel in batches (recvmmsg, then sendmmsg) without allocating.
type udpBatch struct {
	rh    [mmsgBatch]mmsghdr
	sh    [mmsgBatch]mmsghdr
	riov  [mmsgBatch]unix.Iovec
	siov  [mmsgBatch]unix.Iovec
	names [mmsgBatch]unix.RawSockaddrInet6
	roob  [mmsgBatch][64]byte
	soob  [mmsgBatch][64]byte
	rbuf  []byte // mmsgBatch × mmsgBuf
	sbuf  []byte
}

func newUDPBatch() *udpBatch {
	b := &udpBatch{rbuf: make([]byte, mmsgBatch*mmsgBuf), sbuf: make([]byte, mmsgBatch*mmsgBuf)}
	for i := range b.rh {
		b.riov[i].Base = &b.rbuf[i*mmsgBuf]
		b.riov[i].SetLen(mmsgBuf)
		h := &b.rh[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.riov[i]
		h.SetIovlen(1)
	}
	return b
}

// serveUDP reads queries in batches and answers each batch with one
// sendmmsg; the Go netpoller waits while the socket is empty.
func (s *Server) serveUDP(c *net.UDPConn) {
	defer s.wg.Done()
	rc, err := c.SyscallConn()
	if err != nil {
		s.log.Error("dns: udp socket", "err", err)
		return
	}
	pktinfo := s.udpNeedsPktInfo(c)
	b := newUDPBatch()
	// Every read starts with a recvmmsg attempt: the poller clears its
	// readiness when a read begins, so waiting first could sleep on
	// datagrams already queued.
	for {
		n := 0
		var serr error
		err := rc.Read(func(fd uintptr) bool {
			for i := range b.rh {
				h := &b.rh[i].hdr
				h.Namelen = unix.SizeofSockaddrInet6
				h.Flags = 0
				if pktinfo {
					h.Control = &b.roob[i][0]
					h.SetControllen(len(b.roob[i]))
				}
			}
			r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.rh[0])), mmsgBatch, unix.MSG_DONTWAIT, 0, 0)
			switch e {
			case 0:
				n = int(r)
			case unix.EAGAIN:
				return false
			case unix.EINTR:
				return false
			default:
				serr = e
			}
			return true
		})
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isStopped() {
				return
			}
			continue
		}
		if serr != nil {
			continue // e.g. an ICMP error queued on the socket
		}
		k := 0
		for i := range n {
			h := &b.rh[i]
			if h.hdr.Flags&unix.MSG_TRUNC != 0 {
				continue // larger than any query: drop
			}
			src, ok := sockaddrAddrPort(&b.names[i])
			if !ok {
				continue
			}
			q := b.rbuf[i*mmsgBuf : i*mmsgBuf+int(h.n)]
			resp, _ := s.handle(q, b.sbuf[k*mmsgBuf:k*mmsgBuf:(k+1)*mmsgBuf], request{src: src})
			if len(resp) == 0 {
				continue
			}
			sh := &b.sh[k].hdr
			b.siov[k].Base = &resp[0]
			b.siov[k].SetLen(len(resp))
			sh.Name = (*byte)(unsafe.Pointer(&b.names[i]))
			sh.Namelen = h.hdr.Namelen
			sh.Iov = &b.siov[k]
			sh.SetIovlen(1)
			sh.Control = nil
			sh.SetControllen(0)
			if pktinfo {
				if l := replyControlInto(b.soob[k][:], b.roob[i][:h.hdr.Controllen]); l > 0 {
					sh.Control = &b.soob[k][0]
					sh.SetControllen(l)
				}
			}
			k++
		}
		for sent := 0; sent < k; {
			m := 0
			err := rc.Write(func(fd uintptr) bool {
				r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.sh[sent])), uintptr(k-sent), unix.MSG_DONTWAIT, 0, 0)
				switch e {
				case 0:
					m = int(r)
				case unix.EAGAIN, unix.EINTR:
					return false
				default:
					m = 1 // this datagram cannot go; skip it
				}
				return true
			})
			if err != nil {
				return
			}
			sent += max(m, 1)
		}
	}
}

func (s *Server) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// sockaddrAddrPort reads an IPv4 or IPv6 socket address.
func sockaddrAddrPort(sa *unix.RawSockaddrInet6) (netip.AddrPort, bool) {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port), true
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port), true
	}
	return netip.AddrPort{}, false
}
