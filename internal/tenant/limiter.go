package tenant

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LoginLimits bound failed logins. Each is a token bucket: Burst failures
// at once, then one more every Window/Burst. A caller over either bucket
// gets ErrRateLimited without the password being checked, whether or not
// the account exists.
type LoginLimits struct {
	// PerAddress bounds failures from one client address.
	PerAddress int
	// PerAccount bounds failures against one login name (known or not).
	PerAccount int
	// Window is the refill period of a full bucket (default 1 minute).
	Window time.Duration
}

// DefaultLoginLimits: 20 failures a minute per address, 5 per account.
var DefaultLoginLimits = LoginLimits{PerAddress: 20, PerAccount: 5, Window: time.Minute}

// limiter is a map of token buckets with a size bound: when it is full,
// buckets that have refilled completely (which behave like new ones) are
// dropped.
type limiter struct {
	mu      sync.Mutex
	burst   int
	every   time.Duration
	buckets map[string]*rate.Limiter
	max     int
}

func newLimiter(burst int, window time.Duration) *limiter {
	if burst <= 0 {
		burst = 1 << 30
	}
	if window <= 0 {
		window = time.Minute
	}
	return &limiter{burst: burst, every: window / time.Duration(burst), buckets: map[string]*rate.Limiter{}, max: 100_000}
}

func (l *limiter) get(key string) *rate.Limiter {
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.sweepLocked()
		}
		b = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.buckets[key] = b
	}
	return b
}

func (l *limiter) sweepLocked() {
	now := time.Now()
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	// Still full (an attack with many keys): forget the oldest half at
	// random rather than grow without bound.
	if len(l.buckets) >= l.max {
		n := 0
		for k := range l.buckets {
			delete(l.buckets, k)
			if n++; n >= l.max/2 {
				break
			}
		}
	}
}

// blocked reports whether key has no failure left, and when one frees up.
func (l *limiter) blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key)
	tokens := b.TokensAt(time.Now())
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) * float64(l.every))
}

// fail spends one failure of key.
func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.get(key).Allow()
}
