package tlscert

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Info describes a parsed certificate chain's leaf.
type Info struct {
	Names         []string // DNS SANs, or the CN when there are none
	ValidityStart int64    // Unix seconds
	ValidityEnd   int64
	Fingerprint   string // SHA-1 of the leaf DER, lowercase hex
}

// Parse checks that certPEM parses and, when keyPEM is not empty, that the
// key parses and matches the certificate. Errors are worded for error_msg.
func Parse(certPEM, keyPEM string) (Info, error) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return Info{}, errors.New("failed to parse cert: no PEM certificate found")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return Info{}, fmt.Errorf("failed to parse cert: %v", err)
	}
	if keyPEM != "" {
		if kb, _ := pem.Decode([]byte(keyPEM)); kb == nil {
			return Info{}, errors.New("failed to parse key: no PEM private key found")
		}
		if _, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM)); err != nil {
			msg := err.Error()
			if strings.Contains(msg, "does not match") {
				return Info{}, errors.New("failed to match cert and key: private key does not match public key")
			}
			return Info{}, fmt.Errorf("failed to parse key: %s", strings.TrimPrefix(msg, "tls: "))
		}
	}
	sum := sha1.Sum(leaf.Raw)
	info := Info{
		ValidityStart: leaf.NotBefore.Unix(),
		ValidityEnd:   leaf.NotAfter.Unix(),
		Fingerprint:   hex.EncodeToString(sum[:]),
	}
	info.Names = append(info.Names, leaf.DNSNames...)
	if len(info.Names) == 0 && leaf.Subject.CommonName != "" {
		info.Names = []string{leaf.Subject.CommonName}
	}
	return info, nil
}

// Keyring encrypts and decrypts private keys at rest.
type Keyring struct {
	aead cipher.AEAD
}

// encPrefix marks an encrypted key so that a value is never encrypted twice
// and a clear PEM (e.g. written by other tooling) is still readable.
const encPrefix = "sgenc1:"

// NewKeyring builds a keyring from a 32-byte key.
func NewKeyring(key []byte) (*Keyring, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("tlscert: keyring key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("tlscert: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("tlscert: %w", err)
	}
	return &Keyring{aead: aead}, nil
}

// LoadOrCreateKeyring reads a hex key from path, creating it (0600) with a
// random key when absent.
func LoadOrCreateKeyring(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("tlscert: generate keyring: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("tlscert: %w", err)
		}
		if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("tlscert: write keyring: %w", err)
		}
		return NewKeyring(key)
	}
	if err != nil {
		return nil, fmt.Errorf("tlscert: read keyring: %w", err)
	}
	return ParseKeyring(strings.TrimSpace(string(b)))
}

// ParseKeyring builds a keyring from a 64-character hex string.
func ParseKeyring(hexKey string) (*Keyring, error) {
	key, err := hex.DecodeString(hexKey)
	if err != nil {
		return nil, fmt.Errorf("tlscert: keyring key is not hex: %w", err)
	}
	return NewKeyring(key)
}

// IsEncrypted tells whether s was produced by Encrypt.
func IsEncrypted(s string) bool { return strings.HasPrefix(s, encPrefix) }

// Encrypt seals a private key PEM. Already encrypted input is returned as is.
func (k *Keyring) Encrypt(plain string) (string, error) {
	if IsEncrypted(plain) {
		return plain, nil
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("tlscert: nonce: %w", err)
	}
	sealed := k.aead.Seal(nonce, nonce, []byte(plain), nil)
	return encPrefix + base64.StdEncoding.EncodeToString(sealed), nil
}

// Decrypt opens a value sealed by Encrypt; a clear PEM is returned as is.
func (k *Keyring) Decrypt(s string) (string, error) {
	if !IsEncrypted(s) {
		return s, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, encPrefix))
	if err != nil {
		return "", fmt.Errorf("tlscert: decrypt: %w", err)
	}
	n := k.aead.NonceSize()
	if len(raw) < n {
		return "", errors.New("tlscert: decrypt: value too short")
	}
	plain, err := k.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", fmt.Errorf("tlscert: decrypt: wrong keyring or corrupted value: %w", err)
	}
	return string(plain), nil
}
