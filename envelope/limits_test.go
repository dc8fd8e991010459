package envelope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/salsa20/salsa"
)

// TestSealedSizeExact checks SealedSize against Seal for every body size
// from 0 to 3000 bytes (crossing many padding buckets) and around the
// largest bucket the format allows.
func TestSealedSizeExact(t *testing.T) {
	f := newFixture(t)
	for n := 0; n <= 3000; n++ {
		e, err := f.ka.Seal(SealParams{To: f.bob.Public, Body: make([]byte, n), Created: t0, Expiry: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.Size(), SealedSize(n); got != want {
			t.Fatalf("body %d: sealed %d bytes, SealedSize says %d", n, got, want)
		}
		if _, err := ParseHeader(e.Encode()); err != nil {
			t.Fatalf("body %d: own envelope does not parse: %v", n, err)
		}
	}
}

// TestSealNeverExceedsTheFormat: a body whose sealed size would pass the
// decoder's limit is refused by Seal instead of producing bytes nobody
// can decode.
func TestSealNeverExceedsTheFormat(t *testing.T) {
	f := newFixture(t)
	lo, hi := MaxCiphertext*7/8, MaxCiphertext
	for lo < hi { // the largest body that still fits
		mid := (lo + hi + 1) / 2
		if SealedSize(mid)-HeaderSize <= MaxCiphertext {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for _, n := range []int{lo, lo + 1} {
		e, err := f.ka.Seal(SealParams{To: f.bob.Public, Body: make([]byte, n), Created: t0, Expiry: t0.Add(time.Hour)})
		if n == lo {
			if err != nil {
				t.Fatalf("largest body %d refused: %v", n, err)
			}
			if _, err := ParseHeader(e.Encode()); err != nil {
				t.Fatalf("largest body %d: %v", n, err)
			}
		} else if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("body %d: got %v, want ErrTooLarge", n, err)
		}
	}
}

// forge seals an arbitrary inner payload with a chosen sender key and
// inner box key: what an attacker with no secret can do.
func forge(t testing.TB, k *Keyring, to, sender PublicKey, innerKey *[32]byte, payload []byte, hdr Header) []byte {
	t.Helper()
	e := &Envelope{Header: hdr}
	if err := k.sealPayload(e, to, sender, innerKey, payload); err != nil {
		t.Fatal(err)
	}
	return e.Encode()
}

// TestLowOrderSenderRefused: with a low-order "sender key" (all zeros) the
// X25519 secret is zero and anyone could make the inner box; Open refuses
// instead of reporting a verified sender.
func TestLowOrderSenderRefused(t *testing.T) {
	f := newFixture(t)
	exp := t0.Add(time.Hour).Unix()
	hdr := Header{Hops: 1, Expiry: exp, Tag: TagFor(f.bob.Public, exp)}
	var secret AckSecret
	hdr.AckHash = HashAckSecret(secret)
	payload := validPayload(hdr, secret, []byte("from nobody"))
	var zero, key [32]byte
	var nonce [16]byte
	salsa.HSalsa20(&key, &nonce, &zero, &salsa.Sigma) // the key of an all-zero secret
	b := forge(t, f.ka, f.bob.Public, PublicKey{}, &key, payload, hdr)
	if _, err := f.kb.Open(b, t0); !errors.Is(err, ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
}

func validPayload(h Header, secret AckSecret, body []byte) []byte {
	p := []byte{payloadVersion}
	p = binary.BigEndian.AppendUint64(p, uint64(h.Expiry))
	p = append(p, h.Tag[:]...)
	p = append(p, h.AckHash[:]...)
	p = append(p, secret[:]...)
	p = binary.BigEndian.AppendUint64(p, uint64(t0.UnixMilli()))
	p = append(p, h.Hops)
	return append(p, body...)
}

// FuzzOpenInner fuzzes the inner payload that only a real sender can make:
// fuzzed bytes are sealed with real keys, so Open gets past both boxes and
// parses them. It must never panic.
func FuzzOpenInner(f *testing.F) {
	fx := newFixture(f)
	exp := t0.Add(time.Hour).Unix()
	hdr := Header{Hops: 1, Expiry: exp, Tag: TagFor(fx.bob.Public, exp)}
	var secret AckSecret
	hdr.AckHash = HashAckSecret(secret)
	good := validPayload(hdr, secret, []byte("hello"))
	f.Add(good)
	f.Add(good[:payloadFixed-1]) // one byte short: used to panic
	f.Add(good[:payloadFixed])
	f.Add([]byte{})
	shared, err := fx.ka.cache.get(fx.bob.Public, &fx.alice.Secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		b := forge(t, fx.ka, fx.bob.Public, fx.alice.Public, shared, payload, hdr)
		l, err := fx.kb.Open(b, t0)
		if err == nil && !bytes.Equal(payload, validPayload(hdr, secret, l.Body)) && len(payload) >= payloadFixed {
			// Accepted payloads must be exactly the fixed fields plus a body.
			if !bytes.Equal(payload[payloadFixed:], l.Body) {
				t.Fatalf("opened a body that is not the payload's tail")
			}
		}
	})
}

// TestNonCanonicalSenderRefused: a sender that writes its own key with the
// top bit set (X25519 ignores that bit, so the inner box still opens) is
// refused, rather than reported as a verified sender whose key names
// nobody and which the address book and the From check do not know.
func TestNonCanonicalSenderRefused(t *testing.T) {
	f := newFixture(t)
	exp := t0.Add(time.Hour).Unix()
	hdr := Header{Hops: 1, Expiry: exp, Tag: TagFor(f.bob.Public, exp)}
	var secret AckSecret
	hdr.AckHash = HashAckSecret(secret)
	payload := validPayload(hdr, secret, []byte("from alice, in disguise"))
	shared, err := f.ka.cache.get(f.bob.Public, &f.alice.Secret)
	if err != nil {
		t.Fatal(err)
	}
	disguised := f.alice.Public
	disguised[KeySize-1] |= 0x80
	b := forge(t, f.ka, f.bob.Public, disguised, shared, payload, hdr)
	if _, err := f.kb.Open(b, t0); !errors.Is(err, ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
	// The same with alice's key as it is opens: the refusal is the bit's.
	b = forge(t, f.ka, f.bob.Public, f.alice.Public, shared, payload, hdr)
	if l, err := f.kb.Open(b, t0); err != nil || l.Sender != f.alice.Public {
		t.Fatalf("alice's own key: %v, %v", l, err)
	}
}
