package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Key is one admin API key of the YAML file's admin_keys list.
type Key struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
	Role string `yaml:"role"`
}

// CacheZone is a cache zone declared in static config.
type CacheZone struct {
	Name string `yaml:"name"`
	// Kind is "memory" or "disk".
	Kind string `yaml:"kind"`
	// Size caps the zone, in bytes.
	Size int64 `yaml:"size"`
	// Dir is where a disk zone keeps its files (default <data-dir>/cache/<name>).
	Dir string `yaml:"dir"`
}

// Config is everything the process reads at start.
type Config struct {
	DataDir       string   `yaml:"data_dir"`
	AdminListen   string   `yaml:"admin_listen"`
	HTTPListen    string   `yaml:"http_listen"`
	HTTPSListen   string   `yaml:"https_listen"`
	DNSListen     string   `yaml:"dns_listen"`
	AdminKey      string   `yaml:"admin_key"`
	ViewerKey     string   `yaml:"viewer_key"`
	Store         string   `yaml:"store"`
	EtcdEndpoints []string `yaml:"etcd_endpoints"`
	Role          string   `yaml:"role"`
	LogLevel      string   `yaml:"log_level"`

	// File-only settings.
	AdminKeys []Key `yaml:"admin_keys"`
	// AdminKeyRequired false disables admin authentication (APISIX's
	// admin_key_required); only allowed with a loopback admin listener.
	AdminKeyRequired *bool `yaml:"admin_key_required"`
	// SSLEncryptKey is the hex AES-256 key that seals ssl private keys; all
	// control nodes sharing an etcd store need the same one. Default: a key
	// generated into <data-dir>/ssl.keyring.
	SSLEncryptKey string      `yaml:"ssl_encrypt_key"`
	CacheZones    []CacheZone `yaml:"cache_zones"`
	// NodeID names this edge in jobs' per-node status (default: the host
	// name).
	NodeID string `yaml:"node_id"`
	// DefaultCertFile/DefaultKeyFile (PEM files) answer TLS clients whose
	// SNI matches no ssl object; without them such clients get an alert.
	DefaultCertFile string        `yaml:"default_cert_file"`
	DefaultKeyFile  string        `yaml:"default_key_file"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// EventLoops is the number of event loops serving the plain HTTP
	// proxy listener: 0 (default) one per CPU, a negative number none (a
	// goroutine per connection, as on the TLS listener).
	EventLoops int `yaml:"event_loops"`

	// Accounts (users, organizations, tokens).
	//
	// SignupEnabled opens POST /auth/signup and lets users create
	// top-level organizations; off, only the operator creates users.
	SignupEnabled bool `yaml:"signup_enabled"`
	// SessionTTL is the lifetime of a login token.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// LoginLimits bound failed logins per client address and per account
	// (failures per Window).
	LoginLimits LoginLimits `yaml:"login_limits"`
	// AuditRetention and AuditMaxEntries bound the audit log.
	AuditRetention  time.Duration `yaml:"audit_retention"`
	AuditMaxEntries int           `yaml:"audit_max_entries"`
}

// LoginLimits is the login_limits block.
type LoginLimits struct {
	PerAddress int           `yaml:"per_address"`
	PerAccount int           `yaml:"per_account"`
	Window     time.Duration `yaml:"window"`
}

// Default returns the documented defaults (DESIGN.md section 1).
func Default() Config {
	return Config{
		DataDir:     "./data",
		AdminListen: "127.0.0.1:9080",
		HTTPListen:  ":8080",
		HTTPSListen: ":8443",
		DNSListen:   ":8053",
		Store:       "bolt",
		Role:        "all",
		LogLevel:    "info",
		CacheZones: []CacheZone{
			{Name: "disk_cache_one", Kind: "disk", Size: 1 << 30},
			{Name: "memory_cache", Kind: "memory", Size: 256 << 20},
		},
		ShutdownTimeout: 10 * time.Second,
		SessionTTL:      24 * time.Hour,
		LoginLimits:     LoginLimits{PerAddress: 20, PerAccount: 5, Window: time.Minute},
		AuditRetention:  30 * 24 * time.Hour,
		AuditMaxEntries: 100000,
	}
}

// flagDef ties a flag to its field.
type flagDef struct {
	name, usage string
	get         func(*Config) *string
	list        func(*Config) *[]string
}

var flagDefs = []flagDef{
	{name: "config", usage: "YAML config file"},
	{name: "data-dir", usage: "bbolt store, disk cache, generated admin key", get: func(c *Config) *string { return &c.DataDir }},
	{name: "admin-listen", usage: "management API, /healthz, /readyz, /metrics", get: func(c *Config) *string { return &c.AdminListen }},
	{name: "http-listen", usage: "proxy, plain HTTP", get: func(c *Config) *string { return &c.HTTPListen }},
	{name: "https-listen", usage: "proxy, TLS with SNI", get: func(c *Config) *string { return &c.HTTPSListen }},
	{name: "dns-listen", usage: "authoritative DNS, UDP and TCP", get: func(c *Config) *string { return &c.DNSListen }},
	{name: "admin-key", usage: "admin API key (generated into <data-dir>/admin.key if unset)", get: func(c *Config) *string { return &c.AdminKey }},
	{name: "viewer-key", usage: "read-only admin API key", get: func(c *Config) *string { return &c.ViewerKey }},
	{name: "store", usage: "bolt or etcd", get: func(c *Config) *string { return &c.Store }},
	{name: "etcd-endpoints", usage: "comma-separated etcd endpoints for --store etcd", list: func(c *Config) *[]string { return &c.EtcdEndpoints }},
	{name: "role", usage: "all, control or edge", get: func(c *Config) *string { return &c.Role }},
	{name: "log-level", usage: "debug, info, warn or error", get: func(c *Config) *string { return &c.LogLevel }},
}

// EnvName is the environment variable of a flag: STARGATE_DATA_DIR.
func EnvName(flagName string) string {
	return "STARGATE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load builds the config from args (without the program and subcommand
// names) and the environment. Precedence: flag > env > YAML > default.
func Load(args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet("stargate serve", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	def := Default()
	vals := map[string]*string{}
	for _, d := range flagDefs {
		dv := ""
		switch {
		case d.get != nil:
			dv = *d.get(&def)
		case d.list != nil:
			dv = strings.Join(*d.list(&def), ",")
		}
		vals[d.name] = fs.String(d.name, dv, d.usage+" (env "+EnvName(d.name)+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("config: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := def
	file := getenv(EnvName("config"))
	if set["config"] {
		file = *vals["config"]
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return Config{}, fmt.Errorf("config: read %s: %w", file, err)
		}
		if err := decodeYAML(b, &cfg); err != nil {
			return Config{}, fmt.Errorf("config: %s: %w", file, err)
		}
	}
	for _, d := range flagDefs {
		if d.get == nil && d.list == nil {
			continue
		}
		v, ok := "", false
		if e := getenv(EnvName(d.name)); e != "" {
			v, ok = e, true
		}
		if set[d.name] {
			v, ok = *vals[d.name], true
		}
		if !ok {
			continue
		}
		if d.get != nil {
			*d.get(&cfg) = v
		} else {
			*d.list(&cfg) = splitList(v)
		}
	}
	return cfg, cfg.Validate()
}

func decodeYAML(b []byte, cfg *Config) error {
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, errEOF) && err.Error() != "EOF" {
		return err
	}
	return nil
}

var errEOF = errors.New("EOF")

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate checks the config as a whole.
func (c *Config) Validate() error {
	var errs []error
	switch c.Role {
	case "all", "control", "edge":
	default:
		errs = append(errs, fmt.Errorf("role %q: want all, control or edge", c.Role))
	}
	switch c.Store {
	case "bolt":
		if c.Role == "control" || c.Role == "edge" {
			errs = append(errs, fmt.Errorf("role %q needs a shared store: use --store etcd", c.Role))
		}
	case "etcd":
		if len(c.EtcdEndpoints) == 0 {
			errs = append(errs, errors.New("store etcd needs --etcd-endpoints"))
		}
	default:
		errs = append(errs, fmt.Errorf("store %q: want bolt or etcd", c.Store))
	}
	for name, addr := range map[string]string{"admin-listen": c.AdminListen, "http-listen": c.HTTPListen, "https-listen": c.HTTPSListen, "dns-listen": c.DNSListen} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %v", name, addr, err))
		}
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir must not be empty"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	for i, k := range c.AdminKeys {
		if k.Key == "" {
			errs = append(errs, fmt.Errorf("admin_keys[%d]: empty key", i))
		}
		if k.Role != "admin" && k.Role != "viewer" {
			errs = append(errs, fmt.Errorf("admin_keys[%d]: role %q: want admin or viewer", i, k.Role))
		}
	}
	if c.AdminKeyRequired != nil && !*c.AdminKeyRequired {
		host, _, _ := net.SplitHostPort(c.AdminListen)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			errs = append(errs, fmt.Errorf("admin_key_required: false is only allowed with a loopback admin-listen, not %q", c.AdminListen))
		}
	}
	seen := map[string]bool{}
	for i, z := range c.CacheZones {
		if z.Name == "" || seen[z.Name] {
			errs = append(errs, fmt.Errorf("cache_zones[%d]: empty or duplicate name %q", i, z.Name))
		}
		seen[z.Name] = true
		if z.Kind != "memory" && z.Kind != "disk" {
			errs = append(errs, fmt.Errorf("cache_zones[%d] %s: kind %q: want memory or disk", i, z.Name, z.Kind))
		}
		if z.Size <= 0 {
			errs = append(errs, fmt.Errorf("cache_zones[%d] %s: size must be > 0", i, z.Name))
		}
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, fmt.Errorf("session_ttl %s: want at least 1m", c.SessionTTL))
	}
	if c.LoginLimits.PerAddress < 1 || c.LoginLimits.PerAccount < 1 || c.LoginLimits.Window < time.Second {
		errs = append(errs, errors.New("login_limits: per_address and per_account must be at least 1, window at least 1s"))
	}
	if c.AuditRetention < time.Hour || c.AuditMaxEntries < 100 {
		errs = append(errs, errors.New("audit_retention must be at least 1h and audit_max_entries at least 100"))
	}
	if (c.DefaultCertFile == "") != (c.DefaultKeyFile == "") {
		errs = append(errs, errors.New("default_cert_file and default_key_file go together"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// KeyRequired reports whether the admin API checks keys (default true).
func (c *Config) KeyRequired() bool { return c.AdminKeyRequired == nil || *c.AdminKeyRequired }
