package authdns

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// transferAllowed: the zone's allow_transfer prefixes and its secondaries.
func (z *zone) transferAllowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range z.allow {
		if p.Contains(a) {
			return true
		}
	}
	for _, n := range z.notify {
		if n.Addr() == a {
			return true
		}
	}
	return false
}

// ixfrUpToDate reads the client's serial from an IXFR query's authority
// SOA (RFC 1995) and reports whether it is not older than ours.
func ixfrUpToDate(req *dns.Msg, serial uint32) bool {
	for _, rr := range req.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return !SerialGreater(serial, soa.Serial)
		}
	}
	return false
}

// xfrChunk bounds the RDATA bytes put in one transfer message.
const xfrChunk = 16 << 10

// streamXFR sends the zone over a TCP connection: SOA, the records, SOA,
// in as many messages as needed (RFC 5936). An IXFR is answered the same
// way (a full transfer, RFC 1995 section 4), or with the SOA alone when
// the client is up to date.
func (s *Server) streamXFR(c net.Conn, x *xfrRequest, src netip.AddrPort) error {
	z := x.z
	rrs := make([]dns.RR, 0, len(z.xfr)+1)
	if x.ixfrUpToDate {
		rrs = append(rrs, z.soa)
	} else {
		rrs = append(append(rrs, z.xfr...), z.soa)
	}
	buf := make([]byte, 2, 65536)
	first := true
	send := func(part []dns.RR) error {
		m := new(dns.Msg)
		m.Id = x.req.Id
		m.Response = true
		m.Authoritative = true
		m.Opcode = dns.OpcodeQuery
		if first {
			m.Question = x.req.Question
			first = false
		}
		m.Answer = part
		m.Compress = true
		b, err := m.PackBuffer(buf[2:cap(buf)])
		if err != nil {
			return fmt.Errorf("pack transfer message: %w", err)
		}
		msg := append(buf[:2], b...)
		binary.BigEndian.PutUint16(msg, uint16(len(b))) //nolint:gosec // packed messages are < 64 KiB
		_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		_, err = c.Write(msg)
		return err
	}
	start, size := 0, 0
	for i, rr := range rrs {
		l := dns.Len(rr)
		if i > start && size+l > xfrChunk {
			if err := send(rrs[start:i]); err != nil {
				return err
			}
			start, size = i, 0
		}
		size += l
	}
	if err := send(rrs[start:]); err != nil {
		return err
	}
	s.metrics.transfers.WithLabelValues("ok").Inc()
	s.log.Info("dns zone transferred", "zone", z.name, "serial", z.serial, "client", src.String(), "records", len(rrs))
	return nil
}

// notify sends NOTIFY for z to each of its secondaries, in the background,
// retrying (RFC 1996 section 3.6) until each answers; a newer notify for
// the same zone and secondary replaces an older one still retrying.
func (s *Server) notify(ctx context.Context, z *zone) {
	for _, target := range z.notify {
		key := z.name + "|" + target.String()
		nctx, cancel := context.WithCancel(ctx)
		s.notifyMu.Lock()
		if prev := s.notifyC[key]; prev != nil {
			prev()
		}
		s.notifyC[key] = cancel
		s.notifyMu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.notifyMu.Lock()
				if s.notifyC[key] != nil && nctx.Err() == nil {
					delete(s.notifyC, key)
				}
				s.notifyMu.Unlock()
				cancel()
			}()
			s.sendNotify(nctx, z, target)
		}()
	}
}

func (s *Server) sendNotify(ctx context.Context, z *zone, target netip.AddrPort) {
	m := new(dns.Msg)
	m.SetNotify(z.name)
	m.Authoritative = true
	m.Answer = []dns.RR{z.soa}
	c := &dns.Client{Net: "udp", Timeout: s.opts.NotifyTimeout}
	wait := time.Second
	for attempt := 1; attempt <= 5; attempt++ {
		r, _, err := c.ExchangeContext(ctx, m, target.String())
		if ctx.Err() != nil {
			return
		}
		if err == nil && r.Opcode == dns.OpcodeNotify {
			s.metrics.notifies.WithLabelValues("ok").Inc()
			s.log.Info("dns notify answered", "zone", z.name, "serial", z.serial, "secondary", target.String(), "rcode", dns.RcodeToString[r.Rcode])
			return
		}
		s.metrics.notifies.WithLabelValues("error").Inc()
		if attempt == 5 {
			s.log.Warn("dns notify not answered", "zone", z.name, "serial", z.serial, "secondary", target.String(), "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}
