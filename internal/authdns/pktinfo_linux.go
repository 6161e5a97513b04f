//go:build linux

package authdns

import (
	"net"
	"syscall"
	"unsafe"
)

// setPktInfo asks the kernel for each datagram's destination address, so a
// socket bound to the unspecified address answers from the address the
// query was sent to (on a host with several addresses).
func setPktInfo(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		e4 := syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_PKTINFO, 1)
		e6 := syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_RECVPKTINFO, 1)
		if e4 != nil && e6 != nil {
			serr = e4
		}
	})
	if err != nil {
		return err
	}
	return serr
}

func cmsgAlign(l int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	return (l + a - 1) &^ (a - 1)
}

// replyControlInto writes into dst the control message that makes a reply
// leave from the address the query in oob (its received packet info) was
// sent to, and returns its length (0: none). The IPv4 interface index is
// left 0 so the routing table picks the way back. It does not allocate.
func replyControlInto(dst, oob []byte) int {
	hdr := syscall.CmsgLen(0)
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len) //nolint:gosec // bounded by the check below
		if l < hdr || l > len(oob) {
			return 0
		}
		data := oob[hdr:l]
		switch {
		case h.Level == syscall.IPPROTO_IP && h.Type == syscall.IP_PKTINFO && len(data) >= 12:
			n := syscall.CmsgSpace(12)
			if len(dst) < n {
				return 0
			}
			clear(dst[:n])
			out := (*syscall.Cmsghdr)(unsafe.Pointer(&dst[0]))
			out.Level, out.Type = syscall.IPPROTO_IP, syscall.IP_PKTINFO
			out.SetLen(syscall.CmsgLen(12))
			// in_pktinfo: ifindex, spec_dst (the source to use), addr (where the query went).
			copy(dst[hdr+4:hdr+8], data[8:12])
			return n
		case h.Level == syscall.IPPROTO_IPV6 && h.Type == syscall.IPV6_PKTINFO && len(data) >= 20:
			n := syscall.CmsgSpace(20)
			if len(dst) < n {
				return 0
			}
			clear(dst[:n])
			out := (*syscall.Cmsghdr)(unsafe.Pointer(&dst[0]))
			out.Level, out.Type = syscall.IPPROTO_IPV6, syscall.IPV6_PKTINFO
			out.SetLen(syscall.CmsgLen(20))
			copy(dst[hdr:hdr+20], data[:20])
			return n
		}
		oob = oob[min(len(oob), cmsgAlign(l)):]
	}
	return 0
}

// replyControl is replyControlInto with a new buffer.
func replyControl(oob []byte) []byte {
	buf := make([]byte, 64)
	return buf[:replyControlInto(buf, oob)]
}
