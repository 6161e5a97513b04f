package apibreaker

import "testing"

func TestOpenFor(t *testing.T) {
	tests := []struct {
		desc      string
		failures  int64
		maxSec    int64
		unhealthy int64
		want      int64
	}{
		{"first trip", 3, 300, 3, 2},
		{"between trips counts the next one (ceil)", 3, 300, 4, 4},
		{"second trip", 3, 300, 6, 4},
		{"third trip", 3, 300, 9, 8},
		{"capped by max_breaker_sec", 1, 300, 9, 300},
		{"huge counts do not overflow", 1, 17, 1 << 40, 17},
		{"max below the first step", 3, 3, 3, 2},
	}
	for _, tc := range tests {
		b := &breaker{failures: tc.failures, maxSec: tc.maxSec}
		if got := b.openFor(tc.unhealthy); got != tc.want {
			t.Errorf("%s: openFor(%d) = %d, want %d", tc.desc, tc.unhealthy, got, tc.want)
		}
	}
}
