// Package config is the static process configuration: listeners, store,
// keys, cache zones. It is read once at start from defaults, an optional
// YAML file, STARGATE_<FLAG> environment variables and command-line flags,
// in that order of precedence (a later source wins), and checked by
// Validate before anything starts. Dynamic configuration (routes, ...) lives
// in the store, never here.
package config
