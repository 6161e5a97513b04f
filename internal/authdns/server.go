package authdns

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stargate-edge/stargate/internal/store"
)

// Options configures a Server.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// Registerer receives the server's metrics (nil: none).
	Registerer prometheus.Registerer
	// Coalesce is how long the watcher waits for more changes before it
	// recompiles (default 20ms); changes are served within Coalesce plus
	// the compile time.
	Coalesce time.Duration
	// UDPReaders is the number of goroutines reading the UDP socket
	// (default GOMAXPROCS; each reads and answers in batches).
	UDPReaders int
	// TCPIdle closes idle TCP connections (default 10s, RFC 7766).
	TCPIdle time.Duration
	// MaxTCPConns bounds concurrent TCP connections (default 1024).
	MaxTCPConns int
	// NotifyTimeout is the wait for each NOTIFY answer (default 2s).
	NotifyTimeout time.Duration
}

// Server is the authoritative DNS server of an edge.
type Server struct {
	opts    Options
	st      store.Store
	log     *slog.Logger
	snap    atomic.Pointer[snapshot]
	metrics *serverMetrics
	none    *zoneCounters

	// Watcher state, owned by the watch goroutine after Start.
	mirror map[string]*zoneSource

	mu       sync.Mutex
	udp      *net.UDPConn
	tcp      *net.TCPListener
	conns    map[net.Conn]struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopped  bool
	notifyMu sync.Mutex
	notifyC  map[string]context.CancelFunc
}

// zoneSource is the store's view of one zone: its settings and records.
type zoneSource struct {
	settings []byte
	records  map[string][]byte // by id
}

// New builds a server; Start loads the zones and listens.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Coalesce <= 0 {
		opts.Coalesce = 20 * time.Millisecond
	}
	if opts.UDPReaders <= 0 {
		opts.UDPReaders = runtime.GOMAXPROCS(0)
	}
	if opts.TCPIdle <= 0 {
		opts.TCPIdle = 10 * time.Second
	}
	if opts.MaxTCPConns <= 0 {
		opts.MaxTCPConns = 1024
	}
	if opts.NotifyTimeout <= 0 {
		opts.NotifyTimeout = 2 * time.Second
	}
	s := &Server{
		opts:    opts,
		st:      opts.Store,
		log:     opts.Logger,
		metrics: newServerMetrics(opts.Registerer),
		conns:   map[net.Conn]struct{}{},
		notifyC: map[string]context.CancelFunc{},
	}
	s.none = s.metrics.counters(noZone)
	s.snap.Store(&snapshot{zones: map[string]*zone{}})
	return s
}

// Start loads every zone from the store, binds addr over TCP and UDP (the
// same port; with port 0 TCP picks it and UDP follows) and serves until
// ctx ends or Stop is called.
func (s *Server) Start(ctx context.Context, addr string) error {
	rev, err := s.load(ctx)
	if err != nil {
		return fmt.Errorf("authdns: load zones: %w", err)
	}
	tcp, udp, err := listen(addr)
	if err != nil {
		return fmt.Errorf("authdns: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.udp, s.tcp, s.cancel = udp, tcp, cancel
	s.mu.Unlock()
	for range s.opts.UDPReaders {
		s.wg.Add(1)
		go s.serveUDP(udp)
	}
	s.wg.Add(2)
	go s.serveTCP(ctx, tcp)
	go s.watch(ctx, rev)
	go func() {
		<-ctx.Done()
		s.closeListeners()
	}()
	// Secondaries learn about the zones we hold now (BIND notifies on load too).
	for _, z := range s.snap.Load().zones {
		s.notify(ctx, z)
	}
	return nil
}

// UDPAddr and TCPAddr are the bound addresses.
func (s *Server) UDPAddr() net.Addr { s.mu.Lock(); defer s.mu.Unlock(); return s.udp.LocalAddr() }
func (s *Server) TCPAddr() net.Addr { s.mu.Lock(); defer s.mu.Unlock(); return s.tcp.Addr() }

// Revision is the store revision the answers come from.
func (s *Server) Revision() int64 { return s.snap.Load().rev }

// Stop closes the listeners and connections and waits for every goroutine.
func (s *Server) Stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.closeListeners()
	s.wg.Wait()
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	if s.udp != nil {
		_ = s.udp.Close()
	}
	if s.tcp != nil {
		_ = s.tcp.Close()
	}
	for c := range s.conns {
		_ = c.Close()
	}
}

// listen binds TCP first, then UDP on the port TCP got.
func listen(addr string) (*net.TCPListener, *net.UDPConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dns listen address %q: %w", addr, err)
	}
	var lastErr error
	for range 10 {
		tl, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, fmt.Errorf("dns tcp listener: %w", err)
		}
		tcp := tl.(*net.TCPListener)
		_, p, _ := net.SplitHostPort(tcp.Addr().String())
		uc, err := listenUDP(net.JoinHostPort(host, p))
		if err == nil {
			return tcp, uc, nil
		}
		_ = tcp.Close()
		lastErr = err
		if port != "0" {
			break
		}
	}
	return nil, nil, fmt.Errorf("dns udp listener: %w", lastErr)
}

// udpBuffer is the socket buffer size asked for.
const udpBuffer = 4 << 20

func listenUDP(addr string) (*net.UDPConn, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	uc := pc.(*net.UDPConn)
	// Room for bursts while the readers are busy (as NSD and Knot do); the
	// kernel caps it at net.core.rmem_max / wmem_max.
	_ = uc.SetReadBuffer(udpBuffer)
	_ = uc.SetWriteBuffer(udpBuffer)
	if a, ok := uc.LocalAddr().(*net.UDPAddr); ok && a.IP.IsUnspecified() {
		// Answer from the address the query was sent to.
		if err := setPktInfo(uc); err != nil {
			_ = uc.Close()
			return nil, err
		}
	}
	return uc, nil
}

// handle answers one message: the template path first, else the resolver.
func (s *Server) handle(p []byte, out []byte, rq request) (resp []byte, x *xfrRequest) {
	snap := s.snap.Load()
	if b, ok := s.fast(snap, p, out, rq.tcp); ok {
		return b, nil
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("dns: panic answering a query", "panic", r, "query", fmt.Sprintf("%x", p))
			resp, x = nil, nil
		}
	}()
	return s.slow(snap, p, out, rq)
}

func (s *Server) udpNeedsPktInfo(c *net.UDPConn) bool {
	a, ok := c.LocalAddr().(*net.UDPAddr)
	return ok && a.IP.IsUnspecified()
}

func (s *Server) serveTCP(ctx context.Context, l *net.TCPListener) {
	defer s.wg.Done()
	sem := make(chan struct{}, s.opts.MaxTCPConns)
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			_ = c.Close() // over the limit
			continue
		}
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			_ = c.Close()
			<-sem
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
				<-sem
				s.wg.Done()
			}()
			s.serveConn(c)
		}()
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 65536+2); return &b }}

// serveConn answers length-prefixed messages in order until the client
// closes, idles out or sends garbage (RFC 7766).
func (s *Server) serveConn(c net.Conn) {
	src, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	inp := bufPool.Get().(*[]byte)
	outp := bufPool.Get().(*[]byte)
	defer bufPool.Put(inp)
	defer bufPool.Put(outp)
	in := (*inp)[:65536]
	for {
		_ = c.SetReadDeadline(time.Now().Add(s.opts.TCPIdle))
		if _, err := io.ReadFull(c, in[:2]); err != nil {
			return
		}
		l := int(binary.BigEndian.Uint16(in[:2]))
		if l < 12 {
			return
		}
		if _, err := io.ReadFull(c, in[:l]); err != nil {
			return
		}
		out := (*outp)[:2]
		resp, x := s.handle(in[:l], out[2:], request{tcp: true, src: src})
		_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if x != nil {
			if err := s.streamXFR(c, x, src); err != nil {
				s.log.Warn("dns: zone transfer failed", "zone", x.z.name, "client", src.String(), "err", err)
				return
			}
			continue
		}
		if resp == nil {
			return
		}
		// resp is usually built in out[2:] already; append copies it if not.
		msg := append(out[:2], resp...)
		binary.BigEndian.PutUint16(msg, uint16(len(resp))) //nolint:gosec // <= 65535
		if _, err := c.Write(msg); err != nil {
			return
		}
	}
}

// load reads every zone from the store and compiles the first snapshot.
func (s *Server) load(ctx context.Context) (int64, error) {
	kvs, rev, err := s.st.List(ctx, Prefix)
	if err != nil {
		return 0, err
	}
	s.mirror = map[string]*zoneSource{}
	dirty := map[string]bool{}
	for _, kv := range kvs {
		if z := s.apply(store.Event{Type: store.EventPut, KV: kv}); z != "" {
			dirty[z] = true
		}
	}
	s.rebuild(nil, dirty, rev, true)
	return rev, nil
}

// apply updates the mirror with one event and returns the zone it touches.
func (s *Server) apply(ev store.Event) string {
	rest := strings.TrimPrefix(ev.KV.Key, Prefix)
	var zname, id string
	switch {
	case strings.HasPrefix(rest, "zones/"):
		zname = strings.TrimPrefix(rest, "zones/")
	case strings.HasPrefix(rest, "records/"):
		var ok bool
		zname, id, ok = strings.Cut(strings.TrimPrefix(rest, "records/"), "/")
		if !ok || id == "" {
			return ""
		}
	default:
		return ""
	}
	if zname == "" || strings.Contains(zname, "/") {
		return ""
	}
	src := s.mirror[zname]
	if src == nil {
		src = &zoneSource{records: map[string][]byte{}}
		s.mirror[zname] = src
	}
	del := ev.Type == store.EventDelete
	switch {
	case id == "" && del:
		src.settings = nil
	case id == "":
		src.settings = ev.KV.Value
	case del:
		delete(src.records, id)
	default:
		src.records[id] = ev.KV.Value
	}
	if src.settings == nil && len(src.records) == 0 {
		delete(s.mirror, zname)
	}
	return zname
}

// rebuild recompiles the dirty zones, swaps the snapshot and notifies the
// secondaries of zones whose serial changed.
func (s *Server) rebuild(ctx context.Context, dirty map[string]bool, rev int64, all bool) {
	old := s.snap.Load()
	zones := make(map[string]*zone, len(old.zones)+len(dirty))
	if !all {
		for w, z := range old.zones {
			zones[w] = z
		}
	}
	var changed []*zone
	for name := range dirty {
		w := lowerWire(name + ".")
		prev := old.zones[w]
		delete(zones, w)
		z := s.compile(name)
		if z == nil {
			if prev != nil {
				s.metrics.dropZone(strings.TrimSuffix(prev.name, "."))
			}
			continue
		}
		zones[w] = z
		if prev == nil || prev.serial != z.serial {
			changed = append(changed, z)
		}
	}
	s.snap.Store(&snapshot{zones: zones, rev: rev})
	s.metrics.revision.Set(float64(rev))
	s.metrics.zones.Set(float64(len(zones)))
	if ctx != nil {
		for _, z := range changed {
			s.log.Info("dns zone updated", "zone", strings.TrimSuffix(z.name, "."), "serial", z.serial, "records", z.records)
			s.notify(ctx, z)
		}
	}
}

// compile builds one zone from the mirror; nil when it has no settings or
// they do not decode.
func (s *Server) compile(name string) *zone {
	src := s.mirror[name]
	if src == nil || src.settings == nil {
		return nil
	}
	var zs Zone
	if err := json.Unmarshal(src.settings, &zs); err != nil {
		s.log.Error("dns: zone settings do not decode; zone left out", "zone", name, "err", err)
		return nil
	}
	if zs.Name != name {
		s.log.Error("dns: zone settings name another zone; zone left out", "key", name, "zone", zs.Name)
		return nil
	}
	ids := make([]string, 0, len(src.records))
	for id := range src.records {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	records := make([]Record, 0, len(ids))
	for _, id := range ids {
		var r Record
		if err := json.Unmarshal(src.records[id], &r); err != nil {
			s.log.Warn("dns: record does not decode; left out", "zone", name, "id", id, "err", err)
			s.metrics.badRecord.Inc()
			continue
		}
		r.ID = id
		records = append(records, r)
	}
	z, errs := compileZone(&zs, records, s.metrics.counters(name))
	for _, e := range errs {
		s.log.Warn("dns: record left out", "zone", name, "id", e.id, "err", e.err)
		s.metrics.badRecord.Inc()
	}
	z.buildTemplates()
	return z
}

// watch follows the store and recompiles changed zones, coalescing bursts.
func (s *Server) watch(ctx context.Context, rev int64) {
	defer s.wg.Done()
	for ctx.Err() == nil {
		ch := s.st.Watch(ctx, Prefix, rev)
		var err error
		rev, err = s.follow(ctx, ch, rev)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("dns: store watch ended; reloading", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
		// Reload everything: the watch may have missed changes (compaction).
		kvs, lrev, lerr := s.st.List(ctx, Prefix)
		if lerr != nil {
			s.log.Warn("dns: reload failed", "err", lerr)
			continue
		}
		s.mirror = map[string]*zoneSource{}
		dirty := map[string]bool{}
		for _, kv := range kvs {
			if z := s.apply(store.Event{Type: store.EventPut, KV: kv}); z != "" {
				dirty[z] = true
			}
		}
		for w, z := range s.snap.Load().zones {
			_ = w
			dirty[strings.TrimSuffix(z.name, ".")] = true
		}
		s.rebuild(ctx, dirty, lrev, false)
		rev = lrev
	}
}

// follow applies watch responses until the channel ends; it returns the
// revision reached.
func (s *Server) follow(ctx context.Context, ch <-chan store.WatchResponse, rev int64) (int64, error) {
	dirty := map[string]bool{}
	var timer <-chan time.Time
	var deadline time.Time
	for {
		select {
		case resp, ok := <-ch:
			if !ok {
				if len(dirty) > 0 {
					s.rebuild(ctx, dirty, rev, false)
				}
				return rev, errors.New("watch channel closed")
			}
			if resp.Err != nil {
				if len(dirty) > 0 {
					s.rebuild(ctx, dirty, rev, false)
				}
				return rev, resp.Err
			}
			for _, ev := range resp.Events {
				if z := s.apply(ev); z != "" {
					dirty[z] = true
				}
			}
			if resp.Revision > rev {
				rev = resp.Revision
			}
			if len(dirty) > 0 && timer == nil {
				deadline = time.Now().Add(10 * s.opts.Coalesce)
				timer = time.After(s.opts.Coalesce)
			} else if len(dirty) > 0 && time.Now().Before(deadline) {
				timer = time.After(s.opts.Coalesce)
			}
		case <-timer:
			s.rebuild(ctx, dirty, rev, false)
			dirty = map[string]bool{}
			timer = nil
		case <-ctx.Done():
			return rev, ctx.Err()
		}
	}
}
