package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The routes cache (-routes-cache DIR) keeps the bolt file of each
// instance right after its routes were created through the admin API, so
// that later runs can start from it instead of spending most of an hour
// creating 100,000 routes again. The creation figures of the run that
// filled the cache are kept next to it and reported as such.

type cacheMeta struct {
	Routes  int             `json:"routes"`
	Hosts   int             `json:"hosts"`
	Clients int             `json:"clients"`
	Created time.Time       `json:"created"`
	Commit  string          `json:"commit"`
	Acked   int             `json:"acked"`
	Elapsed time.Duration   `json:"elapsed_ns"`
	Step    int             `json:"step"`
	Marks   []time.Duration `json:"marks_ns"`
}

func cachePaths(dir string, n, hosts int) (db, meta string) {
	base := filepath.Join(dir, fmt.Sprintf("routes%d-hosts%d", n, hosts))
	return base + ".db", base + ".json"
}

// loadCache copies a cached bolt file to dbPath and returns its metadata;
// ok is false when the cache has no entry for n routes.
func loadCache(dir string, n, hosts int, dbPath string) (cacheMeta, bool, error) {
	src, metaPath := cachePaths(dir, n, hosts)
	b, err := os.ReadFile(metaPath)
	if errors.Is(err, os.ErrNotExist) {
		return cacheMeta{}, false, nil
	}
	if err != nil {
		return cacheMeta{}, false, err
	}
	var m cacheMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return cacheMeta{}, false, fmt.Errorf("%s: %w", metaPath, err)
	}
	if m.Routes != n || m.Hosts != hosts || m.Acked != n {
		return cacheMeta{}, false, fmt.Errorf("%s describes %d routes on %d hosts, want %d on %d", metaPath, m.Routes, m.Hosts, n, hosts)
	}
	if err := copyFile(src, dbPath); err != nil {
		return cacheMeta{}, false, err
	}
	return m, true, nil
}

// saveCache stores a bolt file that no write is in flight on (every PUT
// has been answered, so every transaction is committed and synced).
func saveCache(dir string, n, hosts int, dbPath string, m cacheMeta) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dst, metaPath := cachePaths(dir, n, hosts)
	if err := copyFile(dbPath, dst); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(metaPath, b, 0o644)
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
