package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/store"
)

// Prefix is where jobs live in the store: Prefix + id.
const Prefix = "/stargate/jobs/"

// Types.
const (
	TypePurge = "cache_purge"
	TypeWarm  = "cache_warm"
)

// Statuses: waiting → running → completed | failed.
const (
	StatusWaiting   = "waiting"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Errors.
var (
	// ErrRunning: a running job cannot be deleted.
	ErrRunning = errors.New("jobs: job is running")
)

// Job is one job record.
type Job struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Status    string   `json:"status"`
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
	Request   Request  `json:"request"`
	Progress  Progress `json:"progress"`
	// Results are a warm job's per-URL outcomes merged over the nodes; they
	// are derived when the job is read, not stored twice.
	Results []URLResult `json:"results,omitempty"`
	Error   string      `json:"error,omitempty"`
	// Nodes is each edge's share of the job, by node id.
	Nodes map[string]*NodeStatus `json:"nodes,omitempty"`
}

// Request is what the job was asked to do.
type Request struct {
	// Zone is a purge's cache zone.
	Zone string `json:"zone,omitempty"`
	// Exactly one purge form: Pattern (RE2, searched in the cache key),
	// URLs (absolute URLs or paths; every variant), Prefix (of the URL,
	// or of the path when it starts with "/"), All.
	Pattern string   `json:"pattern,omitempty"`
	URLs    []string `json:"urls,omitempty"`
	Prefix  string   `json:"prefix,omitempty"`
	All     bool     `json:"all,omitempty"`
}

// Progress counts a job's work items.
type Progress struct {
	Total  int `json:"total"`
	Done   int `json:"done"`
	Failed int `json:"failed"`
}

// NodeStatus is one edge's run of a job.
type NodeStatus struct {
	Status    string      `json:"status"`
	StartedAt string      `json:"started_at,omitempty"`
	UpdatedAt string      `json:"updated_at"`
	Progress  Progress    `json:"progress"`
	Results   []URLResult `json:"results,omitempty"`
	Error     string      `json:"error,omitempty"`
	// Attempts counts how many times this node started the job (a restart
	// in the middle resumes it).
	Attempts int `json:"attempts"`
}

// URLResult is a warmed URL's outcome.
type URLResult struct {
	URL string `json:"url"`
	// Status is the HTTP status the edge answered (0 when none).
	Status int `json:"status"`
	// Cache is the answer's Apisix-Cache-Status.
	Cache string `json:"cache,omitempty"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Now formats a time as the records do: RFC 3339, UTC, seconds.
func Now() string { return time.Now().UTC().Format(time.RFC3339) }

func key(id string) string { return Prefix + id }

// Create stores a new waiting job and returns it.
func Create(ctx context.Context, st store.Store, typ string, req Request) (*Job, error) {
	for i := 0; ; i++ {
		now := time.Now().UTC()
		j := &Job{ID: fmt.Sprintf("job-%020d", now.UnixNano()+int64(i)), Type: typ, Status: StatusWaiting,
			CreatedAt: now.Format(time.RFC3339), UpdatedAt: now.Format(time.RFC3339), Request: req,
			Nodes: map[string]*NodeStatus{}}
		b, err := json.Marshal(j)
		if err != nil {
			return nil, err
		}
		_, err = st.Put(ctx, key(j.ID), b, store.IfModRevision(0))
		if errors.Is(err, store.ErrConflict) && i < 100 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jobs: create: %w", err)
		}
		return j, nil
	}
}

func decode(kv store.KV) (*Job, error) {
	var j Job
	if err := json.Unmarshal(kv.Value, &j); err != nil {
		return nil, fmt.Errorf("jobs: %s: %w", kv.Key, err)
	}
	if j.Nodes == nil {
		j.Nodes = map[string]*NodeStatus{}
	}
	if j.Type == TypeWarm {
		j.Results = mergeResults(j.Nodes)
	}
	return &j, nil
}

// Get returns a job; store.ErrNotFound when there is none.
func Get(ctx context.Context, st store.Store, id string) (*Job, error) {
	if id == "" || strings.Contains(id, "/") {
		return nil, store.ErrNotFound
	}
	kv, err := st.Get(ctx, key(id))
	if err != nil {
		return nil, err
	}
	return decode(kv)
}

// List returns every job, newest first.
func List(ctx context.Context, st store.Store) ([]*Job, error) {
	kvs, _, err := st.List(ctx, Prefix)
	if err != nil {
		return nil, err
	}
	out := make([]*Job, 0, len(kvs))
	for _, kv := range kvs {
		if j, err := decode(kv); err == nil {
			out = append(out, j)
		}
	}
	sort.SliceStable(out, func(i, k int) bool {
		if out[i].CreatedAt != out[k].CreatedAt {
			return out[i].CreatedAt > out[k].CreatedAt
		}
		return out[i].ID > out[k].ID
	})
	return out, nil
}

// Delete removes a job that is not running.
func Delete(ctx context.Context, st store.Store, id string) error {
	for {
		kv, err := st.Get(ctx, key(id))
		if err != nil {
			return err
		}
		j, err := decode(kv)
		if err != nil {
			return err
		}
		if j.Status == StatusRunning {
			return ErrRunning
		}
		_, err = st.Delete(ctx, key(id), store.IfModRevision(kv.ModRevision))
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return err
	}
}

// Update applies fn to the stored job with compare-and-swap, retrying on
// conflicts (several edges update one job).
func Update(ctx context.Context, st store.Store, id string, fn func(j *Job) error) (*Job, error) {
	for {
		kv, err := st.Get(ctx, key(id))
		if err != nil {
			return nil, err
		}
		j, err := decode(kv)
		if err != nil {
			return nil, err
		}
		if err := fn(j); err != nil {
			return nil, err
		}
		j.UpdatedAt = Now()
		results := j.Results
		j.Results = nil // derived from the nodes' when read
		b, err := json.Marshal(j)
		j.Results = results
		if err != nil {
			return nil, err
		}
		_, err = st.Put(ctx, key(id), b, store.IfModRevision(kv.ModRevision))
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return j, nil
	}
}

// aggregate derives the job's status, progress and results from its
// nodes: completed when every expected node completed, failed when one
// failed, running while one runs.
func (j *Job) aggregate(expected []string) {
	var p Progress
	running, failed, done := false, false, 0
	var errs []string
	for _, ns := range j.Nodes {
		p.Total += ns.Progress.Total
		p.Done += ns.Progress.Done
		p.Failed += ns.Progress.Failed
		switch ns.Status {
		case StatusRunning, StatusWaiting:
			running = true
		case StatusFailed:
			failed = true
		}
	}
	for _, n := range expected {
		if ns := j.Nodes[n]; ns != nil && (ns.Status == StatusCompleted || ns.Status == StatusFailed) {
			done++
		}
	}
	ids := make([]string, 0, len(j.Nodes))
	for id := range j.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if e := j.Nodes[id].Error; e != "" {
			if len(j.Nodes) > 1 {
				e = id + ": " + e
			}
			errs = append(errs, e)
		}
	}
	j.Progress = p
	j.Error = strings.Join(errs, "; ")
	switch {
	case running || done < len(expected):
		if len(j.Nodes) > 0 {
			j.Status = StatusRunning
		}
	case failed:
		j.Status = StatusFailed
	default:
		j.Status = StatusCompleted
	}
	if j.Type == TypeWarm {
		j.Results = mergeResults(j.Nodes)
		// With several edges, progress counts URLs, not URL × edge.
		if len(j.Nodes) > 1 {
			p = Progress{Total: len(j.Request.URLs)}
			for _, r := range j.Results {
				if r.OK {
					p.Done++
				} else if r.Status != 0 || r.Error != "" {
					p.Failed++
				}
			}
			j.Progress = p
		}
	}
}

// mergeResults: a URL is OK when it is OK on every node that warmed it.
func mergeResults(nodes map[string]*NodeStatus) []URLResult {
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []URLResult
	index := map[string]int{}
	for _, id := range ids {
		for _, r := range nodes[id].Results {
			i, ok := index[r.URL]
			if !ok {
				index[r.URL] = len(out)
				out = append(out, r)
				continue
			}
			if out[i].OK && !r.OK {
				if len(nodes) > 1 && r.Error != "" {
					r.Error = id + ": " + r.Error
				}
				out[i] = r
			}
		}
	}
	return out
}
