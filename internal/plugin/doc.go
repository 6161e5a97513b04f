// Package plugin is the registry of Stargate's plugins: their names,
// priorities and configuration schemas, and (from the data-plane issues on)
// the phase hooks that run them.
//
// Plugins register from init() in their own package under internal/plugin/;
// internal/plugin/standard blank-imports the standard set. Order is declared
// data (Priority, APISIX's numbers), never import order. A plugin's config is
// validated against its schema at admin write time and decoded once at
// snapshot compile time, never per request.
package plugin
