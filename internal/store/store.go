package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every backend. Check them with errors.Is.
var (
	// ErrNotFound: the key does not exist (or its TTL ran out).
	ErrNotFound = errors.New("store: key not found")
	// ErrConflict: a compare-and-swap condition did not hold.
	ErrConflict = errors.New("store: revision conflict")
	// ErrCompacted: a watch asked for revisions the store no longer keeps;
	// the watcher must reload with List and watch from the list revision.
	ErrCompacted = errors.New("store: required revision has been compacted")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrUnavailable: the backend could not be reached (etcd down, timeout).
	ErrUnavailable = errors.New("store: unavailable")
)

// KV is one key with its value and revisions.
type KV struct {
	Key   string
	Value []byte
	// CreateRevision is the global revision at which the key was created.
	CreateRevision int64
	// ModRevision is the global revision of the key's last write.
	ModRevision int64
}

// EventType tells a put from a delete.
type EventType int

// Event types.
const (
	EventPut EventType = iota + 1
	EventDelete
)

func (t EventType) String() string {
	switch t {
	case EventPut:
		return "PUT"
	case EventDelete:
		return "DELETE"
	}
	return "UNKNOWN"
}

// Event is one change seen by a watcher. For a delete, KV.Value is empty and
// KV.ModRevision is the revision of the delete.
type Event struct {
	Type EventType
	KV   KV
}

// WatchResponse carries the events of one revision range, in revision order.
// A response with Err set is the last on its channel.
type WatchResponse struct {
	Events []Event
	// Revision is the store revision this response brings the watcher to.
	Revision int64
	Err      error
}

// Store is the contract every backend satisfies; storetest checks it.
type Store interface {
	// Get returns one key, or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)
	// List returns every key with the prefix in key order, and the store
	// revision the listing is consistent with (watch from it to follow on).
	List(ctx context.Context, prefix string) ([]KV, int64, error)
	// Put writes a key. With IfModRevision it is a compare-and-swap:
	// ErrConflict unless the key's ModRevision equals the given one, where 0
	// means "the key must not exist".
	Put(ctx context.Context, key string, value []byte, opts ...PutOption) (KV, error)
	// Delete removes a key and returns its last version; ErrNotFound if absent.
	// IfModRevision applies as for Put.
	Delete(ctx context.Context, key string, opts ...PutOption) (KV, error)
	// Watch streams every change under prefix after fromRev, in order. The
	// channel closes when ctx ends; a response with Err (ErrCompacted when
	// fromRev is too old) is sent last before closing.
	Watch(ctx context.Context, prefix string, fromRev int64) <-chan WatchResponse
	// Revision returns the current global revision.
	Revision(ctx context.Context) (int64, error)
	// Close releases the store. Pending writes finish first.
	Close() error
}

// PutOptions is the resolved form of PutOption values; backends read it.
type PutOptions struct {
	// CheckRevision enables the compare-and-swap against IfModRevision.
	CheckRevision bool
	IfModRevision int64
	// TTL makes the key expire; 0 means never.
	TTL time.Duration
}

// PutOption modifies a Put or Delete.
type PutOption func(*PutOptions)

// IfModRevision makes the write conditional on the key's mod revision; 0
// means the key must not exist yet.
func IfModRevision(rev int64) PutOption {
	return func(o *PutOptions) { o.CheckRevision = true; o.IfModRevision = rev }
}

// WithTTL makes the key expire after d (rounded up to whole seconds, as
// etcd leases are).
func WithTTL(d time.Duration) PutOption {
	return func(o *PutOptions) { o.TTL = d }
}

// Resolve applies opts; backends call it.
func Resolve(opts []PutOption) PutOptions {
	var o PutOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}
