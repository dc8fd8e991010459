package envelope

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/nacl/box"
)

const (
	boxOverhead = box.Overhead
	// outer plaintext: inner length, sender key, inner nonce, inner box
	outerFixed = 4 + KeySize + NonceSize
	// payload before the body
	payloadFixed   = 1 + 8 + TagSize + AckHashSize + 32 + 8 + 1 // …, created, TTL
	payloadVersion = 1
)

// DefaultKeyCacheSize is the number of shared keys a Keyring caches when
// its Config leaves KeyCacheSize at zero.
const DefaultKeyCacheSize = 1024

// Config configures a Keyring.
type Config struct {
	// Identity is the long-term key pair: the Tox profile's keys.
	Identity KeyPair
	// Rand is the source of keys and nonces; nil means crypto/rand.
	Rand io.Reader
	// KeyCacheSize is how many precomputed shared keys (one X25519 each) to
	// keep; 0 means DefaultKeyCacheSize, negative disables the cache.
	KeyCacheSize int
}

// Keyring seals envelopes from and opens envelopes to one identity. It is
// safe for concurrent use.
type Keyring struct {
	id    KeyPair
	rand  io.Reader
	cache *sharedCache
}

// NewKeyring returns a Keyring for cfg.Identity.
func NewKeyring(cfg Config) *Keyring {
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	n := cfg.KeyCacheSize
	if n == 0 {
		n = DefaultKeyCacheSize
	}
	return &Keyring{id: cfg.Identity, rand: r, cache: newSharedCache(n)}
}

// PublicKey returns the identity's public key.
func (k *Keyring) PublicKey() PublicKey { return k.id.Public }

// SealParams says what to seal and for how long.
type SealParams struct {
	To      PublicKey // recipient's long-term public key
	Body    []byte    // the mail, as bytes
	Created time.Time // when the mail was made; kept inside the ciphertext
	Expiry  time.Time // absolute expiry; truncated to whole seconds
	Hops    uint8     // hops the envelope may travel from the sender
}

// SealedSize returns the encoded size of an envelope holding a body of n
// bytes.
func SealedSize(n int) int {
	return HeaderSize + PaddedSize(outerFixed+boxOverhead+payloadFixed+n) + boxOverhead
}

// Seal makes a sealed envelope. The sender recognises its ack by the ack
// hash in the header.
func (k *Keyring) Seal(p SealParams) (*Envelope, error) {
	if len(p.Body) > MaxCiphertext || SealedSize(len(p.Body))-HeaderSize > MaxCiphertext {
		return nil, fmt.Errorf("%w: body of %d bytes seals to more than %d", ErrTooLarge, len(p.Body), MaxCiphertext)
	}
	exp := p.Expiry.Unix()
	if exp <= 0 || !p.Expiry.After(p.Created) {
		return nil, fmt.Errorf("envelope: expiry %v must be a positive time after creation %v", p.Expiry, p.Created)
	}
	e := &Envelope{Header: Header{Hops: p.Hops, Expiry: exp, Tag: TagFor(p.To, exp)}}

	var secret AckSecret
	if _, err := io.ReadFull(k.rand, secret[:]); err != nil {
		return nil, fmt.Errorf("envelope: reading randomness: %w", err)
	}
	e.AckHash = HashAckSecret(secret)

	// Payload, authenticated under the sender's long-term key.
	payload := make([]byte, 0, payloadFixed+len(p.Body))
	payload = append(payload, payloadVersion)
	payload = binary.BigEndian.AppendUint64(payload, uint64(exp))
	payload = append(payload, e.Tag[:]...)
	payload = append(payload, e.AckHash[:]...)
	payload = append(payload, secret[:]...)
	payload = binary.BigEndian.AppendUint64(payload, uint64(p.Created.UnixMilli()))
	payload = append(payload, p.Hops)
	payload = append(payload, p.Body...)

	shared, err := k.cache.get(p.To, &k.id.Secret)
	if err != nil {
		return nil, err
	}
	if err := k.sealPayload(e, p.To, k.id.Public, shared, payload); err != nil {
		return nil, err
	}
	return e, nil
}

// sealPayload completes e (whose header fields are set) around payload:
// the inner box from sender under innerKey, the padding, and the outer box
// under a fresh ephemeral key to the recipient.
func (k *Keyring) sealPayload(e *Envelope, to, sender PublicKey, innerKey *[32]byte, payload []byte) error {
	var innerNonce [NonceSize]byte
	if _, err := io.ReadFull(k.rand, innerNonce[:]); err != nil {
		return fmt.Errorf("envelope: reading randomness: %w", err)
	}
	innerLen := KeySize + NonceSize + boxOverhead + len(payload)
	outer := make([]byte, 4, PaddedSize(4+innerLen))
	binary.BigEndian.PutUint32(outer, uint32(innerLen))
	outer = append(outer, sender[:]...)
	outer = append(outer, innerNonce[:]...)
	outer = box.SealAfterPrecomputation(outer, payload, &innerNonce, innerKey)
	outer = outer[:cap(outer)] // zero padding up to the bucket

	eph, err := GenerateKeyPair(k.rand)
	if err != nil {
		return err
	}
	e.EphemeralKey = eph.Public
	e.Nonce = outerNonce(&eph.Public, &to)
	outerKey, err := sharedKey(&eph.Secret, to)
	clear(eph.Secret[:])
	if err != nil {
		return err
	}
	e.Ciphertext = box.SealAfterPrecomputation(make([]byte, 0, len(outer)+boxOverhead), outer, &e.Nonce, outerKey)
	return nil
}

var outerNonceDomain = []byte("toxmail/outer-nonce/v1\x00")

// outerNonce returns the nonce of the outer box: a hash of the ephemeral
// and recipient keys, as libsodium's sealed boxes derive theirs. It binds
// the ephemeral key's exact bytes to the box. X25519 ignores the key's top
// bit and any low-order component (u and 1/u give the same shared secret),
// so a relay could otherwise re-encode the key, giving the same mail a new
// ID that still opens; with the nonce bound, such an envelope fails to open.
// The ephemeral key is fresh for every envelope, so nonces never repeat.
func outerNonce(eph, to *PublicKey) [NonceSize]byte {
	h := sha256.New()
	h.Write(outerNonceDomain)
	h.Write(eph[:])
	h.Write(to[:])
	var sum [sha256.Size]byte
	var n [NonceSize]byte
	copy(n[:], h.Sum(sum[:0]))
	return n
}

// PathLength returns how many friend links the envelope travelled: its TTL
// less the hops left. The hop counter is not authenticated, so a relay can
// make this smaller (never below zero), never larger than the TTL.
func (l *Letter) PathLength() int {
	if l.Hops >= l.TTL {
		return 0
	}
	return int(l.TTL - l.Hops)
}

// Letter is an opened envelope.
type Letter struct {
	ID      ID
	Sender  PublicKey // verified: only the holder of its secret key could seal this
	Created time.Time // the sender's claim of when it was made
	Expiry  time.Time
	Ack     Ack   // the ack to flood back
	Hops    uint8 // hops it could still have travelled on arrival
	TTL     uint8 // hops the sender gave it; TTL-Hops links were travelled
	Body    []byte
}

// IsMine reports whether the header carries this identity's tag.
func (k *Keyring) IsMine(h *Header) bool {
	t := TagFor(k.id.Public, h.Expiry)
	return subtle.ConstantTimeCompare(t[:], h.Tag[:]) == 1
}

// Open checks and opens an encoded envelope addressed to this identity. now
// is the current time: an envelope whose expiry has passed is not opened.
func (k *Keyring) Open(b []byte, now time.Time) (*Letter, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if !k.IsMine(&h) {
		return nil, ErrNotForMe
	}
	if now.Unix() >= h.Expiry {
		return nil, fmt.Errorf("%w at %v", ErrExpired, h.ExpiryTime().UTC())
	}
	if outerNonce(&h.EphemeralKey, &k.id.Public) != h.Nonce {
		return nil, fmt.Errorf("%w: the nonce is not bound to the ephemeral key (a relay re-encoded the key, or a toxmail from before 2026-12-07 sealed it)", ErrAuth)
	}
	outerKey, err := sharedKey(&k.id.Secret, h.EphemeralKey)
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key: %v", ErrAuth, err)
	}
	outer, ok := box.OpenAfterPrecomputation(nil, b[HeaderSize:], &h.Nonce, outerKey)
	if !ok {
		return nil, fmt.Errorf("%w: outer box", ErrAuth)
	}
	if len(outer) < 4 {
		return nil, fmt.Errorf("%w: outer plaintext too short", ErrAuth)
	}
	m := binary.BigEndian.Uint32(outer)
	if m < KeySize+NonceSize+boxOverhead+payloadFixed || uint64(m) > uint64(len(outer)-4) {
		return nil, fmt.Errorf("%w: inner length %d", ErrAuth, m)
	}
	inner, pad := outer[4:4+m], outer[4+m:]
	for _, c := range pad {
		if c != 0 {
			return nil, fmt.Errorf("%w: non-zero padding", ErrAuth)
		}
	}
	var sender PublicKey
	copy(sender[:], inner)
	if sender[KeySize-1]&0x80 != 0 {
		// X25519 ignores the top bit, so such a key opens as the key
		// without it, yet names nobody: a sender could pass itself off
		// under a key the address book and the From check do not know.
		return nil, fmt.Errorf("%w: sender key not in canonical form (top bit set)", ErrAuth)
	}
	var innerNonce [NonceSize]byte
	copy(innerNonce[:], inner[KeySize:])
	shared, err := k.cache.get(sender, &k.id.Secret)
	if err != nil {
		return nil, fmt.Errorf("%w: sender key: %v", ErrAuth, err)
	}
	payload, ok := box.OpenAfterPrecomputation(nil, inner[KeySize+NonceSize:], &innerNonce, shared)
	if !ok {
		return nil, fmt.Errorf("%w: sender authentication", ErrAuth)
	}
	if payload[0] != payloadVersion {
		return nil, fmt.Errorf("%w: payload version %d", ErrVersion, payload[0])
	}
	p := payload[1:]
	if int64(binary.BigEndian.Uint64(p)) != h.Expiry {
		return nil, fmt.Errorf("%w: expiry differs from the sender's", ErrAuth)
	}
	p = p[8:]
	if subtle.ConstantTimeCompare(p[:TagSize], h.Tag[:]) != 1 {
		return nil, fmt.Errorf("%w: tag differs from the sender's", ErrAuth)
	}
	p = p[TagSize:]
	if subtle.ConstantTimeCompare(p[:AckHashSize], h.AckHash[:]) != 1 {
		return nil, fmt.Errorf("%w: ack hash differs from the sender's", ErrAuth)
	}
	p = p[AckHashSize:]
	var secret AckSecret
	copy(secret[:], p)
	if HashAckSecret(secret) != h.AckHash {
		return nil, fmt.Errorf("%w: ack secret does not match its hash", ErrAuth)
	}
	p = p[32:]
	created := time.UnixMilli(int64(binary.BigEndian.Uint64(p)))
	ttl := p[8]
	id := ComputeID(b)
	return &Letter{
		ID:      id,
		Sender:  sender,
		Created: created,
		Expiry:  h.ExpiryTime(),
		Ack:     Ack{ID: id, Secret: secret},
		Hops:    h.Hops,
		TTL:     ttl,
		Body:    p[9:],
	}, nil
}
