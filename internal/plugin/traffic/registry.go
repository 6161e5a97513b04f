package traffic

import (
	"bytes"
	"encoding/json"
	"runtime"
	"sync"
	"weak"
)

// Registry keeps long-lived plugin state (rate-limit counters, breaker
// state) by a key naming what the state belongs to: the object the plugin
// is configured on plus its configuration (StateKey). A configuration
// swap that compiles the same key again gets the same state, so counters
// survive reloads and unrelated edits.
//
// The registry holds its values weakly: a value lives as long as a
// compiled plugin instance refers to it, and its entry goes away once the
// last snapshot using it is dropped. Memory is thus bounded by the
// configurations being served, not by every configuration ever seen.
type Registry[T any] struct {
	mu sync.Mutex
	m  map[string]weak.Pointer[T]
}

// Get returns the value for key, creating it with create when there is
// none alive.
func (r *Registry[T]) Get(key string, create func() *T) *T {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]weak.Pointer[T])
	}
	if wp, ok := r.m[key]; ok {
		if p := wp.Value(); p != nil {
			return p
		}
	}
	p := create()
	r.m[key] = weak.Make(p)
	runtime.AddCleanup(p, r.forget, key)
	return p
}

func (r *Registry[T]) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if wp, ok := r.m[key]; ok && wp.Value() == nil {
		delete(r.m, key)
	}
}

// Len is the number of entries (live or awaiting cleanup).
func (r *Registry[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// StateKey is envKey plus a canonical encoding of conf (JSON with sorted
// object keys), the identity of a plugin's state.
func StateKey(envKey string, conf map[string]any) string {
	var b bytes.Buffer
	b.WriteString(envKey)
	b.WriteByte(0)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(conf)
	return b.String()
}
