//go:build !(linux && (amd64 || arm64))

package authdns

import (
	"errors"
	"net"
)

// serveUDP answers one datagram at a time (platforms without the batched
// reader of udp_mmsg.go).
func (s *Server) serveUDP(c *net.UDPConn) {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	out := make([]byte, 0, 65536)
	oob := make([]byte, 128)
	pktinfo := s.udpNeedsPktInfo(c)
	for {
		n, oobn, _, addr, err := c.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		resp, _ := s.handle(buf[:n], out, request{src: addr})
		if resp == nil {
			continue
		}
		var ctl []byte
		if pktinfo {
			ctl = replyControl(oob[:oobn])
		}
		_, _, _ = c.WriteMsgUDPAddrPort(resp, ctl, addr)
	}
}
