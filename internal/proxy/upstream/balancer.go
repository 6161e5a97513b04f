package upstream

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// balancer picks one eligible node index of a priority group, or -1.
// Implementations must not allocate.
type balancer interface {
	pick(u *Upstream, gi int, in HashInput, tried []*Node, ignoreHealth bool) int
}

var (
	_ balancer = (*roundRobin)(nil)
	_ balancer = (*chash)(nil)
	_ balancer = (*leastConn)(nil)
	_ balancer = (*ewma)(nil)
)

func newBalancer(c *config, nodes []*Node, weights []int64, groups []group, rings [][]ringPoint) balancer {
	switch c.typ {
	case TypeCHash:
		b := &chash{hashOn: c.hashOn, key: c.key, rings: rings}
		if c.hashOn == HashOnVarsCombinations {
			b.tmpl = parseTemplate(c.key)
		}
		return b
	case TypeLeastConn:
		return &leastConn{}
	case TypeEWMA:
		return &ewma{}
	}
	return &roundRobin{cur: make([]int64, len(nodes))}
}

// ---- roundrobin: nginx's smooth weighted round robin
// (ngx_http_upstream_get_peer). Every pick adds each eligible node's weight
// to its current weight, takes the largest and subtracts the total from
// it; weights 5,1,1 give a,a,b,a,c,a,a rather than a,a,a,a,a,b,c.

type roundRobin struct {
	mu  sync.Mutex
	cur []int64 // per node index
}

func (b *roundRobin) pick(u *Upstream, gi int, _ HashInput, tried []*Node, ignoreHealth bool) int {
	best := -1
	var total int64
	b.mu.Lock()
	for _, i := range u.groups[gi].idx {
		if !u.eligible(i, tried, ignoreHealth) {
			continue
		}
		w := u.weights[i]
		b.cur[i] += w
		total += w
		if best < 0 || b.cur[i] > b.cur[best] {
			best = i
		}
	}
	if best >= 0 {
		b.cur[best] -= total
	}
	b.mu.Unlock()
	return best
}

// ---- chash: a ketama-style ring per priority group. Each node gets
// virtual points in proportion to its weight (160 per node on average,
// as resty.chash's CONSISTENT_POINTS); a key maps to the first point at or
// after its hash. Walking on from there skips tried and unhealthy nodes,
// which is APISIX's picker:next() on retries and also keeps every other
// key in place when one node goes down.

const chashPointsPerNode = 160

type ringPoint struct {
	hash uint64
	idx  int32
}

type chash struct {
	hashOn string
	key    string
	tmpl   []segment     // vars_combinations
	rings  [][]ringPoint // per group, same order as Upstream.groups
}

// buildRings makes the chash ring of every priority group. Rings are
// immutable and depend only on the nodes' order, addresses, weights and
// priorities, so the Manager reuses them across compiles.
func buildRings(nodes []*Node, weights []int64, groups []group) [][]ringPoint {
	rings := make([][]ringPoint, len(groups))
	for gi, g := range groups {
		var sum int64
		n := 0
		for _, i := range g.idx {
			if weights[i] > 0 {
				sum += weights[i]
				n++
			}
		}
		if sum == 0 {
			continue
		}
		total := int64(chashPointsPerNode * n)
		ring := make([]ringPoint, 0, total+int64(n))
		for _, i := range g.idx {
			w := weights[i]
			if w <= 0 {
				continue
			}
			pts := (total*w + sum/2) / sum
			if pts < 1 {
				pts = 1
			}
			base := fnvAdd(fnvOffset, nodes[i].Addr)
			base = fnvAdd(base, "#")
			var buf [20]byte
			for p := int64(0); p < pts; p++ {
				h := fnvAddBytes(base, strconv.AppendInt(buf[:0], p, 10))
				ring = append(ring, ringPoint{hash: fmix64(h), idx: int32(i)})
			}
		}
		slices.SortFunc(ring, func(a, b ringPoint) int {
			switch {
			case a.hash < b.hash:
				return -1
			case a.hash > b.hash:
				return 1
			}
			return int(a.idx - b.idx)
		})
		rings[gi] = ring
	}
	return rings
}

// ringSignature identifies what buildRings depends on.
func ringSignature(nodes []*Node, weights []int64) string {
	var sb strings.Builder
	for i, n := range nodes {
		sb.WriteString(n.Addr)
		sb.WriteByte('|')
		sb.WriteString(strconv.FormatInt(weights[i], 10))
		sb.WriteByte('|')
		sb.WriteString(strconv.Itoa(n.Priority))
		sb.WriteByte(';')
	}
	return sb.String()
}

// keyHash hashes the request's chash key (chash.lua fetch_chash_hash_key).
func (b *chash) keyHash(in HashInput) uint64 {
	if in == nil {
		return hashString("")
	}
	var s string
	switch b.hashOn {
	case HashOnVars:
		s, _ = in.Var(b.key)
	case HashOnHeader:
		s = in.Header(b.key)
	case HashOnCookie:
		s = in.Cookie(b.key)
	case HashOnConsumer:
		s = in.Consumer()
	case HashOnVarsCombinations:
		h := uint64(fnvOffset)
		empty := true
		for _, seg := range b.tmpl {
			v := seg.s
			if seg.isVar {
				v, _ = in.Var(seg.s)
			}
			if v != "" {
				empty = false
				h = fnvAdd(h, v)
			}
		}
		if !empty {
			return fmix64(h)
		}
	}
	if s == "" {
		s, _ = in.Var("remote_addr")
	}
	return hashString(s)
}

func (b *chash) pick(u *Upstream, gi int, in HashInput, tried []*Node, ignoreHealth bool) int {
	ring := b.rings[gi]
	if len(ring) == 0 {
		return -1
	}
	h := b.keyHash(in)
	lo, hi := 0, len(ring)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ring[m].hash < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	last := int32(-1)
	for k := 0; k < len(ring); k++ {
		p := ring[(lo+k)%len(ring)]
		if p.idx == last {
			continue
		}
		last = p.idx
		if u.eligible(int(p.idx), tried, ignoreHealth) {
			return int(p.idx)
		}
	}
	return -1
}

// ---- least_conn: the node with the lowest (active+1)/weight, as APISIX
// least_conn.lua (score starts at 1/weight, +1/weight per pick, -1/weight
// per finished request). Ties rotate.

type leastConn struct {
	rot atomic.Uint32
}

func (b *leastConn) pick(u *Upstream, gi int, _ HashInput, tried []*Node, ignoreHealth bool) int {
	g := &u.groups[gi]
	n := len(g.idx)
	start := int(b.rot.Add(1) % uint32(n))
	best := -1
	var bestA, bestW int64
	for k := 0; k < n; k++ {
		j := start + k
		if j >= n {
			j -= n
		}
		i := g.idx[j]
		if !u.eligible(i, tried, ignoreHealth) {
			continue
		}
		a, w := u.states[i].active.Load(), u.weights[i]
		// (a+1)/w < (bestA+1)/bestW without division
		if best < 0 || (a+1)*bestW < (bestA+1)*w {
			best, bestA, bestW = i, a, w
		}
	}
	return best
}

// ---- ewma: power of two choices on peak-EWMA latency (APISIX ewma.lua):
// two distinct random eligible nodes, the lower score wins. The score is
// the latency ewma decayed towards 0 with a 10 s time constant, times
// (in-flight+1) as in Finagle's PeakEwma; unmeasured nodes score 0 and
// are tried first.

type ewma struct{}

func (b *ewma) pick(u *Upstream, gi int, _ HashInput, tried []*Node, ignoreHealth bool) int {
	g := &u.groups[gi]
	m := 0
	first := -1
	for _, i := range g.idx {
		if u.eligible(i, tried, ignoreHealth) {
			if m == 0 {
				first = i
			}
			m++
		}
	}
	if m <= 1 {
		return first
	}
	x := rand.IntN(m)
	y := rand.IntN(m - 1)
	if y >= x {
		y++
	}
	a, c := -1, -1
	k := 0
	for _, i := range g.idx {
		if !u.eligible(i, tried, ignoreHealth) {
			continue
		}
		if k == x {
			a = i
		}
		if k == y {
			c = i
		}
		k++
	}
	// Health may change between the two passes (checkers run
	// concurrently): fall back to whichever candidate was found.
	switch {
	case a < 0 && c < 0:
		return first
	case a < 0:
		return c
	case c < 0:
		return a
	}
	now := monoNow()
	if ewmaCost(u.states[c], now) < ewmaCost(u.states[a], now) {
		return c
	}
	return a
}

func ewmaCost(s *nodeState, now int64) float64 {
	return s.ewmaScore(now) * float64(s.active.Load()+1)
}
