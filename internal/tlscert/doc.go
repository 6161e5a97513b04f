// Package tlscert handles the certificates of `ssls` objects: parsing and
// matching a certificate with its key, the names it covers, its validity and
// fingerprint, and the encryption of private keys at rest.
//
// Private keys are never stored in the clear: the admin API encrypts them
// with AES-256-GCM under a key kept in the data directory (or given in the
// config so that several control nodes share it), and the data plane
// decrypts them when it builds its SNI table.
package tlscert
