package envelope

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"golang.org/x/crypto/curve25519"
)

// KeySize is the size in bytes of public and secret keys.
const KeySize = 32

// PublicKey is a Curve25519 public key: a Tox long-term public key or an
// ephemeral key.
type PublicKey [KeySize]byte

// SecretKey is a Curve25519 secret key. Its String and LogValue methods never
// reveal the key.
type SecretKey [KeySize]byte

// KeyPair is a long-term identity: the key pair of a Tox profile.
type KeyPair struct {
	Public PublicKey
	Secret SecretKey
}

// GenerateKeyPair makes a fresh key pair, reading randomness from r
// (crypto/rand when r is nil).
func GenerateKeyPair(r io.Reader) (KeyPair, error) {
	if r == nil {
		r = rand.Reader
	}
	var kp KeyPair
	if _, err := io.ReadFull(r, kp.Secret[:]); err != nil {
		return KeyPair{}, fmt.Errorf("envelope: reading randomness: %w", err)
	}
	pub, err := curve25519.X25519(kp.Secret[:], curve25519.Basepoint)
	if err != nil {
		return KeyPair{}, fmt.Errorf("envelope: deriving public key: %w", err)
	}
	copy(kp.Public[:], pub)
	return kp, nil
}

// KeyPairFromSecret rebuilds a key pair from its secret half.
func KeyPairFromSecret(sk SecretKey) (KeyPair, error) {
	pub, err := curve25519.X25519(sk[:], curve25519.Basepoint)
	if err != nil {
		return KeyPair{}, fmt.Errorf("envelope: deriving public key: %w", err)
	}
	kp := KeyPair{Secret: sk}
	copy(kp.Public[:], pub)
	return kp, nil
}

// String returns the key as 64 upper-case hex digits, the way Tox shows keys.
func (k PublicKey) String() string { return strings.ToUpper(hex.EncodeToString(k[:])) }

// Short returns the first 8 hex digits, for logs and tables.
func (k PublicKey) Short() string { return k.String()[:8] }

// LogValue logs a public key by its short form.
func (k PublicKey) LogValue() slog.Value { return slog.StringValue(k.Short()) }

// IsZero reports whether k is all zeros (unset).
func (k PublicKey) IsZero() bool { return k == PublicKey{} }

// ParsePublicKey parses 64 hex digits.
func ParsePublicKey(s string) (PublicKey, error) {
	var k PublicKey
	if len(s) != 2*KeySize {
		return k, fmt.Errorf("envelope: public key must be %d hex digits, got %d", 2*KeySize, len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("envelope: public key is not hex: %w", err)
	}
	return k, nil
}

// String never reveals the secret key.
func (SecretKey) String() string { return "[secret key redacted]" }

// GoString never reveals the secret key, even under %#v.
func (SecretKey) GoString() string { return "[secret key redacted]" }

// LogValue never reveals the secret key.
func (SecretKey) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// LogValue logs a key pair by its public half only.
func (kp KeyPair) LogValue() slog.Value { return kp.Public.LogValue() }
