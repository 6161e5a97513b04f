package upstream

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// health is lua-resty-healthcheck's internal health of a target. The
// "mostly" states count as up (get_target_status).
type health uint8

const (
	stateHealthy health = iota
	stateMostlyHealthy
	stateMostlyUnhealthy
	stateUnhealthy
)

func (h health) String() string {
	switch h {
	case stateHealthy:
		return "healthy"
	case stateMostlyHealthy:
		return "mostly_healthy"
	case stateMostlyUnhealthy:
		return "mostly_unhealthy"
	}
	return "unhealthy"
}

// Counter kinds (lua-resty-healthcheck CTR_SUCCESS, CTR_HTTP, CTR_TCP,
// CTR_TIMEOUT).
const (
	ctrSuccess = iota
	ctrHTTP
	ctrTCP
	ctrTimeout
)

var counterNames = [4]string{"success", "http_failure", "tcp_failure", "timeout"}

// monoEpoch anchors the monotonic clock used for ewma and cool-downs.
var monoEpoch = time.Now()

func monoNow() int64 { return int64(time.Since(monoEpoch)) }

// nodeState is the long-lived state of one node address of one upstream
// key: in-flight requests, health and the ewma score. It is shared by every
// compiled Upstream of that key that lists the address.
type nodeState struct {
	addr string

	active inflight    // requests in flight (Pick .. Done)
	up     atomic.Bool // healthy or mostly_healthy

	mu     sync.Mutex
	state  health
	ctr    [4]uint8
	downAt int64 // monoNow when it became unhealthy

	emu         sync.Mutex
	ewma        float64 // seconds
	lastTouched int64   // monoNow of the last update, 0 = never
}

func newNodeState(addr string) *nodeState {
	s := &nodeState{addr: addr, active: newInflight()}
	s.up.Store(true)
	return s
}

// resetHealth forgets health and counters (checks configuration changed).
func (s *nodeState) resetHealth() {
	s.mu.Lock()
	s.state = stateHealthy
	s.ctr = [4]uint8{}
	s.downAt = 0
	s.up.Store(true)
	s.mu.Unlock()
}

// report is lua-resty-healthcheck's incr_counter: a success clears the
// failure counters, a failure clears the success counter; reaching limit
// flips the target to the reported health, a first opposite report makes it
// "mostly" so. Reports agreeing with a fully healthy/unhealthy target are
// not counted. limit 0 disables the counter. It returns whether the up/down
// status changed.
func (s *nodeState) report(success bool, kind int, limit int) (changed bool, nowUp bool, st health, ctr uint8) {
	if limit <= 0 {
		return false, s.up.Load(), 0, 0
	}
	want := stateUnhealthy
	if success {
		want = stateHealthy
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.state
	if cur == want {
		return false, s.up.Load(), cur, 0
	}
	if s.ctr[kind] < math.MaxUint8 {
		s.ctr[kind]++
	}
	c := s.ctr[kind]
	if success {
		s.ctr[ctrHTTP], s.ctr[ctrTCP], s.ctr[ctrTimeout] = 0, 0, 0
	} else {
		s.ctr[ctrSuccess] = 0
	}
	next := cur
	switch {
	case int(c) >= limit:
		next = want
	case cur == stateHealthy && !success:
		next = stateMostlyHealthy
	case cur == stateUnhealthy && success:
		next = stateMostlyUnhealthy
	}
	if next == cur {
		return false, s.up.Load(), cur, c
	}
	s.state = next
	wasUp := cur <= stateMostlyHealthy
	isUp := next <= stateMostlyHealthy
	if next == stateUnhealthy {
		s.downAt = monoNow()
	}
	s.up.Store(isUp)
	return wasUp != isUp, isUp, next, c
}

// cooldown brings a node marked down by passive checks back up once d has
// passed since it went down; used only when no active checker could ever
// bring it back (see doc.go). It reports whether the node is up.
func (s *nodeState) cooldown(d time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state <= stateMostlyHealthy {
		return true
	}
	if s.downAt == 0 || monoNow()-s.downAt < int64(d) {
		return false
	}
	s.state = stateHealthy
	s.ctr = [4]uint8{}
	s.downAt = 0
	s.up.Store(true)
	return true
}

// ---- ewma (apisix/balancer/ewma.lua, after Finagle's PeakEwma).

const (
	ewmaDecay          = 10 * time.Second // ewma.lua DECAY_TIME
	ewmaFailurePenalty = time.Second      // latency recorded for a failed attempt, at least
)

// ewmaScore returns the decayed ewma (seconds) at now, without updating it:
// ewma.lua score() = get_or_update_ewma(name, 0, false).
func (s *nodeState) ewmaScore(now int64) float64 {
	s.emu.Lock()
	e, last := s.ewma, s.lastTouched
	s.emu.Unlock()
	if last == 0 || e == 0 {
		return 0
	}
	td := now - last
	if td <= 0 {
		return e
	}
	return e * math.Exp(-float64(td)/float64(ewmaDecay))
}

// observe records one round-trip time. A sample above the current (decayed)
// value replaces it at once ("peak"); otherwise it is blended in with the
// time-based weight of ewma.lua decay_ewma.
func (s *nodeState) observe(rtt time.Duration, now int64) {
	x := rtt.Seconds()
	s.emu.Lock()
	defer s.emu.Unlock()
	if s.lastTouched == 0 {
		s.ewma = x
		s.lastTouched = now
		return
	}
	td := now - s.lastTouched
	if td < 0 {
		td = 0
	}
	w := math.Exp(-float64(td) / float64(ewmaDecay))
	e := s.ewma * w
	if x > e {
		e = x
	} else {
		e += x * (1 - w)
	}
	s.ewma = e
	s.lastTouched = now
}
