package tenant

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/store"
)

// AuditEntry is one recorded write: who, in which organization, what,
// when, from where, and how it ended.
type AuditEntry struct {
	ID   string `json:"id"`
	Time int64  `json:"time"` // Unix seconds
	// OrgID is the organization the request acted in ("" for the platform).
	OrgID    string `json:"org_id,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	Username string `json:"username,omitempty"`
	TokenID  string `json:"token_id,omitempty"`
	// KeyName names the admin key of an operator request.
	KeyName string `json:"key_name,omitempty"`
	// Auth is admin_key, session, pat or none.
	Auth       string `json:"auth"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Resource   string `json:"resource,omitempty"`
	ResourceID string `json:"resource_id,omitempty"`
	Status     int    `json:"status"`
	RemoteAddr string `json:"remote_addr"`
	// Note adds context: the login name of a failed login, for instance.
	Note string `json:"note,omitempty"`
}

// AuditQuery filters entries; zero fields match everything.
type AuditQuery struct {
	OrgID      *string // nil: every organization (operator only)
	UserID     string
	TokenID    string
	Method     string
	Resource   string
	ResourceID string
	Since      int64
	Until      int64
	Limit      int
}

// Audit stores entries under /stargate/audit/<org|->/<time-ordered id>.
//
// Entries are queued and written by a background writer in parallel
// batches, which the store commits together: an admin write does not wait
// for its audit entry, and the log costs little write throughput. Flush
// waits until everything queued so far is stored (queries call it, and
// shutdown does). A crash can lose the entries of the last few
// milliseconds. The log is bounded in time (entries older than the
// retention are deleted hourly) and in size (past the cap plus a tenth,
// the oldest are deleted down to the cap); there are no store TTLs, which
// would cost a lease per entry on etcd.
type Audit struct {
	st        store.Store
	log       *slog.Logger
	retention time.Duration
	max       int

	ch      chan auditItem
	stopped chan struct{}
	started atomic.Bool
	count   atomic.Int64
	trimMu  sync.Mutex
}

// auditLinger is how long the writer gathers entries before a batch.
const auditLinger = 10 * time.Millisecond

type auditItem struct {
	e     *AuditEntry
	flush chan struct{}
}

// NewAudit builds the log: entries live retention (default 30 days) and
// at most max are kept (default 100000).
func NewAudit(st store.Store, log *slog.Logger, retention time.Duration, max int) *Audit {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if retention <= 0 {
		retention = 30 * 24 * time.Hour
	}
	if max <= 0 {
		max = 100_000
	}
	return &Audit{st: st, log: log, retention: retention, max: max,
		ch: make(chan auditItem, 8192), stopped: make(chan struct{})}
}

// Start trims the log, then runs the writer (and trims hourly) until ctx
// ends.
func (a *Audit) Start(ctx context.Context) error {
	if err := a.trim(ctx); err != nil {
		return fmt.Errorf("tenant: load audit log: %w", err)
	}
	a.started.Store(true)
	go a.run(ctx)
	go func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := a.trim(ctx); err != nil && ctx.Err() == nil {
					a.log.Warn("tenant: audit trim failed", "err", err)
				}
			}
		}
	}()
	return nil
}

// run writes queued entries: everything waiting is taken as one batch and
// written in parallel, then the flushes queued with it are released.
func (a *Audit) run(ctx context.Context) {
	defer close(a.stopped)
	for {
		var batch []auditItem
		select {
		case <-ctx.Done():
			return
		case it := <-a.ch:
			batch = append(batch, it)
		}
		// Linger a little so that the entries of a burst of writes go to
		// the store together (one commit) instead of one commit each,
		// unless someone waits on a flush.
		linger := time.NewTimer(auditLinger)
	more:
		for len(batch) < 512 && batch[len(batch)-1].flush == nil {
			select {
			case it := <-a.ch:
				batch = append(batch, it)
			case <-linger.C:
				break more
			case <-ctx.Done():
				break more
			}
		}
		linger.Stop()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for _, it := range batch {
			if it.e == nil {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func(e *AuditEntry) {
				defer func() { <-sem; wg.Done() }()
				a.write(ctx, e)
			}(it.e)
		}
		wg.Wait()
		if a.count.Load() > int64(a.max+a.max/10) {
			if err := a.trim(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("tenant: audit trim failed", "err", err)
			}
		}
		for _, it := range batch {
			if it.flush != nil {
				close(it.flush)
			}
		}
	}
}

func (a *Audit) write(ctx context.Context, e *AuditEntry) {
	raw, err := json.Marshal(e)
	if err != nil {
		return
	}
	org := e.OrgID
	if org == "" {
		org = "-"
	}
	if _, err := a.st.Put(ctx, AuditPrefix+org+"/"+e.ID, raw); err != nil {
		if ctx.Err() == nil {
			a.log.Error("tenant: audit write failed", "err", err, "method", e.Method, "path", e.Path, "user", e.UserID, "status", e.Status)
		}
		return
	}
	a.count.Add(1)
}

// trim deletes entries past the retention, then the oldest beyond the cap.
func (a *Audit) trim(ctx context.Context) error {
	a.trimMu.Lock()
	defer a.trimMu.Unlock()
	kvs, _, err := a.st.List(ctx, AuditPrefix)
	if err != nil {
		return err
	}
	sort.Slice(kvs, func(i, j int) bool { return lastSeg(kvs[i].Key) < lastSeg(kvs[j].Key) })
	cutoff := fmt.Sprintf("%019d", time.Now().Add(-a.retention).UnixNano())
	drop := 0
	for drop < len(kvs) && lastSeg(kvs[drop].Key) < cutoff {
		drop++
	}
	drop = max(drop, len(kvs)-a.max)
	for i := 0; i < drop; i++ {
		if _, err := a.st.Delete(ctx, kvs[i].Key); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	a.count.Store(int64(len(kvs) - drop))
	return nil
}

func lastSeg(k string) string { return k[strings.LastIndexByte(k, '/')+1:] }

// Record queues an entry (ID and Time are set here). It blocks only while
// the queue is full, so no entry is dropped while the writer runs.
func (a *Audit) Record(e AuditEntry) {
	now := time.Now()
	var r [2]byte
	_, _ = rand.Read(r[:])
	e.ID = fmt.Sprintf("%019d%04x", now.UnixNano(), binary.BigEndian.Uint16(r[:]))
	e.Time = now.Unix()
	if !a.started.Load() {
		return
	}
	select {
	case a.ch <- auditItem{e: &e}:
	case <-a.stopped:
	}
}

// Flush waits until every entry recorded before it is stored.
func (a *Audit) Flush(ctx context.Context) {
	if !a.started.Load() {
		return
	}
	done := make(chan struct{})
	select {
	case a.ch <- auditItem{flush: done}:
	case <-a.stopped:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-a.stopped:
	case <-ctx.Done():
	}
}

// Query returns matching entries newest first (at most q.Limit, default
// 100) and how many matched in all.
func (a *Audit) Query(ctx context.Context, q AuditQuery) ([]AuditEntry, int, error) {
	a.Flush(ctx)
	prefix := AuditPrefix
	if q.OrgID != nil {
		org := *q.OrgID
		if org == "" {
			org = "-"
		}
		prefix += org + "/"
	}
	kvs, _, err := a.st.List(ctx, prefix)
	if err != nil {
		return nil, 0, err
	}
	out := make([]AuditEntry, 0, len(kvs))
	for _, kv := range kvs {
		var e AuditEntry
		if json.Unmarshal(kv.Value, &e) != nil {
			continue
		}
		if (q.UserID != "" && e.UserID != q.UserID) || (q.TokenID != "" && e.TokenID != q.TokenID) ||
			(q.Method != "" && !strings.EqualFold(e.Method, q.Method)) || (q.Resource != "" && e.Resource != q.Resource) ||
			(q.ResourceID != "" && e.ResourceID != q.ResourceID) || (q.Since > 0 && e.Time < q.Since) || (q.Until > 0 && e.Time > q.Until) {
			continue
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	total := len(out)
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, total, nil
}
