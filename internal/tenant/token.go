package tenant

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// SecretPrefix starts every token secret Stargate issues, so the admin
// API can tell a token from an admin key without a store read, and secret
// scanners can recognise leaked ones.
const SecretPrefix = "sgt_"

// invitePrefix starts invitation codes.
const invitePrefix = "sgi_"

// newSecret is 256 random bits, URL-safe.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// secretHash is the store name of a secret: tokens are long random
// strings, so a plain SHA-256 is enough (no password stretching needed).
func secretHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// LooksLikeToken reports whether s has the shape of an issued secret.
func LooksLikeToken(s string) bool {
	return strings.HasPrefix(s, SecretPrefix) && len(s) == len(SecretPrefix)+43
}

func tokenKey(secret string) string  { return tokensPrefix + secretHash(secret) }
func inviteKey(code string) string   { return invitesPrefix + secretHash(code) }
func userKey(id string) string       { return usersPrefix + id }
func orgKey(id string) string        { return orgsPrefix + id }
func memberKey(org, u string) string { return membersPrefix + org + "/" + u }
func usernameKey(n string) string    { return usernamesPrefix + strings.ToLower(n) }
func emailKey(e string) string       { return emailsPrefix + strings.ToLower(e) }
