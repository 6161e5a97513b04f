package tenant

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// ArgonParams are argon2id's cost parameters. The defaults follow OWASP's
// recommendation (19 MiB, 2 passes, 1 lane); tests use cheap ones. Hashes
// carry their parameters (PHC string format), so changing them later
// keeps old hashes valid.
type ArgonParams struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultArgon is the production cost.
var DefaultArgon = ArgonParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// hasher runs argon2id with at most a few computations at once, so a burst
// of logins cannot exhaust memory.
type hasher struct {
	p         ArgonParams
	sem       chan struct{}
	dummyOnce sync.Once
	dummyHash string // a hash to verify against when the user does not exist
}

func newHasher(p ArgonParams) *hasher {
	if p.Time == 0 || p.MemoryKiB == 0 || p.Threads == 0 {
		p = DefaultArgon
	}
	return &hasher{p: p, sem: make(chan struct{}, 4)}
}

// dummy is a hash of the current cost, computed on first use.
func (h *hasher) dummy() string {
	h.dummyOnce.Do(func() { h.dummyHash = h.hashNoLimit("stargate-dummy-password") })
	return h.dummyHash
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) release() { <-h.sem }

// hash returns a PHC string: $argon2id$v=19$m=..,t=..,p=..$salt$key.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hashNoLimit(password), nil
}

func (h *hasher) hashNoLimit(password string) string {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.MemoryKiB, h.p.Time, h.p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verify checks password against a PHC hash in constant time. A hash that
// does not parse never matches.
func (h *hasher) verify(ctx context.Context, encoded, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, nil
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, nil
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 64 {
		return false, nil
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, nil
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want))) //nolint:gosec // bounded above
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
