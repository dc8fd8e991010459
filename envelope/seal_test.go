package envelope

import (
	"bytes"
	"errors"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// detRand is a deterministic randomness source for reproducible tests.
type detRand struct{ r *rand.ChaCha8 }

func newDetRand(seed byte) *detRand { return &detRand{rand.NewChaCha8([32]byte{seed})} }

func (d *detRand) Read(p []byte) (int, error) { return d.r.Read(p) }

func mustKeys(t testing.TB, seed byte) KeyPair {
	t.Helper()
	kp, err := GenerateKeyPair(newDetRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

type fixture struct {
	alice, bob, eve KeyPair
	ka, kb, ke      *Keyring
	body            []byte
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{alice: mustKeys(t, 1), bob: mustKeys(t, 2), eve: mustKeys(t, 3)}
	f.ka = NewKeyring(Config{Identity: f.alice, Rand: newDetRand(11)})
	f.kb = NewKeyring(Config{Identity: f.bob, Rand: newDetRand(12)})
	f.ke = NewKeyring(Config{Identity: f.eve, Rand: newDetRand(13)})
	f.body = []byte("From: alice@tox\r\nTo: bob@tox\r\nSubject: tea\r\n\r\nThe secret plan is tea at five.\r\n")
	return f
}

func (f *fixture) seal(t testing.TB, to PublicKey, body []byte) []byte {
	t.Helper()
	e, err := f.ka.Seal(SealParams{To: to, Body: body, Created: t0, Expiry: t0.Add(72 * time.Hour), Hops: 4})
	if err != nil {
		t.Fatal(err)
	}
	return e.Encode()
}

func TestSealOpenRoundTrip(t *testing.T) {
	f := newFixture(t)
	for _, n := range []int{0, 1, 100, 1000, 5000, 70000} {
		body := bytes.Repeat([]byte{'x'}, n)
		b := f.seal(t, f.bob.Public, body)
		l, err := f.kb.Open(b, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("n=%d: open: %v", n, err)
		}
		if !bytes.Equal(l.Body, body) {
			t.Fatalf("n=%d: body differs", n)
		}
		if l.Sender != f.alice.Public {
			t.Errorf("sender %v, want %v", l.Sender, f.alice.Public)
		}
		if !l.Created.Equal(t0) || !l.Expiry.Equal(t0.Add(72*time.Hour)) || l.Hops != 4 || l.TTL != 4 {
			t.Errorf("created %v expiry %v hops %d", l.Created, l.Expiry, l.Hops)
		}
		h, _ := ParseHeader(b)
		if l.ID != ComputeID(b) || !l.Ack.Verify(h.AckHash) || l.Ack.ID != l.ID {
			t.Errorf("ack does not verify against its own envelope")
		}
		if got, want := len(b), SealedSize(n); got != want {
			t.Errorf("n=%d: size %d, SealedSize says %d", n, got, want)
		}
	}
}

func TestSizesArePaddedToBuckets(t *testing.T) {
	f := newFixture(t)
	// Bodies a few bytes apart share a bucket: their envelopes are the same size.
	a := f.seal(t, f.bob.Public, bytes.Repeat([]byte{'a'}, 1000))
	b := f.seal(t, f.bob.Public, bytes.Repeat([]byte{'b'}, 1010))
	if len(a) != len(b) {
		t.Errorf("1000 and 1010 byte bodies sealed to %d and %d bytes; want one bucket", len(a), len(b))
	}
	for n := 1; n < 1<<20; n = n*3/2 + 1 {
		p := PaddedSize(n)
		if p < n || (n > minBucket && float64(p-n) > 0.12*float64(n)) {
			t.Fatalf("PaddedSize(%d) = %d", n, p)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	f := newFixture(t)
	good := f.seal(t, f.bob.Public, f.body)
	now := t0.Add(time.Hour)
	cases := []struct {
		name string
		b    []byte
		k    *Keyring
		now  time.Time
		want error
	}{
		{"wrong key", good, f.ke, now, ErrNotForMe},
		{"truncated", good[:len(good)-1], f.kb, now, ErrMalformed},
		{"header only", good[:HeaderSize], f.kb, now, ErrMalformed},
		{"empty", nil, f.kb, now, ErrMalformed},
		{"extended", append(append([]byte(nil), good...), 0), f.kb, now, ErrMalformed},
		{"expired", good, f.kb, t0.Add(73 * time.Hour), ErrExpired},
		{"version 2", patch(good, offVersion, 2), f.kb, now, ErrVersion},
		{"kind 9", patch(good, offKind, 9), f.kb, now, ErrVersion},
		{"flags", patch(good, offFlags, 1), f.kb, now, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.k.Open(c.b, c.now)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func patch(b []byte, off int, v byte) []byte {
	c := append([]byte(nil), b...)
	c[off] = v
	return c
}

// TestTamperAnyByte flips every byte of an envelope in turn: except the hop
// counter, each flip changes the ID and fails to open.
func TestTamperAnyByte(t *testing.T) {
	f := newFixture(t)
	good := f.seal(t, f.bob.Public, f.body)
	id := ComputeID(good)
	now := t0.Add(time.Hour)
	for i := range good {
		bad := patch(good, i, good[i]^0x01)
		_, err := f.kb.Open(bad, now)
		if i == offHops {
			if err != nil {
				t.Fatalf("hop counter change must not break opening: %v", err)
			}
			if ComputeID(bad) != id {
				t.Fatalf("hop counter change changed the ID")
			}
			continue
		}
		if err == nil {
			t.Fatalf("byte %d flipped: opened anyway", i)
		}
		if _, perr := ParseHeader(bad); perr == nil && ComputeID(bad) == id {
			t.Fatalf("byte %d flipped: ID unchanged", i)
		}
	}
}

// TestReencodedEphemeralKeyFailsToOpen: X25519 gives the same shared
// secret for other encodings of the ephemeral key (its top bit set, which
// X25519 ignores; 1/u mod p, the key plus the point of order 2, which the
// clamped scalar cancels). A relay could re-encode the key and send one
// mail under several IDs, each delivered as new (security review). The
// nonce, bound to the key, makes each such envelope fail to open.
func TestReencodedEphemeralKeyFailsToOpen(t *testing.T) {
	f := newFixture(t)
	good := f.seal(t, f.bob.Public, f.body)
	now := t0.Add(time.Hour)
	if _, err := f.kb.Open(good, now); err != nil {
		t.Fatal(err)
	}
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	u := littleEndian(good[offEph : offEph+KeySize])
	inv := new(big.Int).ModInverse(u, p)
	for _, tt := range []struct {
		name string
		u    *big.Int
		top  bool
	}{
		{"top bit set", u, true},
		{"1/u", inv, false},
		{"1/u, top bit set", inv, true},
	} {
		bad := append([]byte(nil), good...)
		putLittleEndian(bad[offEph:offEph+KeySize], tt.u)
		if tt.top {
			bad[offEph+KeySize-1] |= 0x80
		}
		var eph PublicKey
		copy(eph[:], bad[offEph:])
		if a, b := mustShared(t, f.bob, eph), mustShared(t, f.bob, PublicKey(good[offEph:offEph+KeySize])); a != b {
			t.Fatalf("%s: not an equivalent key (the test is wrong)", tt.name)
		}
		if _, err := ParseHeader(bad); err != nil || ComputeID(bad) == ComputeID(good) {
			t.Fatalf("%s: relays must see a well-formed envelope with a new ID (parse: %v)", tt.name, err)
		}
		if _, err := f.kb.Open(bad, now); !errors.Is(err, ErrAuth) {
			t.Errorf("%s: Open = %v, want ErrAuth", tt.name, err)
		}
	}
}

func littleEndian(b []byte) *big.Int {
	be := slices.Clone(b)
	slices.Reverse(be)
	return new(big.Int).SetBytes(be)
}

func putLittleEndian(dst []byte, v *big.Int) {
	v.FillBytes(dst)
	slices.Reverse(dst)
}

func mustShared(t *testing.T, kp KeyPair, peer PublicKey) [32]byte {
	t.Helper()
	k, err := sharedKey(&kp.Secret, peer)
	if err != nil {
		t.Fatal(err)
	}
	return *k
}

// TestRelayVisibleBytesHideSenderRecipientAndText checks what a relay sees.
func TestRelayVisibleBytesHideSenderRecipientAndText(t *testing.T) {
	f := newFixture(t)
	b := f.seal(t, f.bob.Public, f.body)
	for _, secret := range [][]byte{f.alice.Public[:], f.bob.Public[:], f.alice.Secret[:], f.bob.Secret[:]} {
		for w := 8; w <= len(secret); w += 8 {
			if bytes.Contains(b, secret[:w]) {
				t.Fatalf("envelope contains %d bytes of a key", w)
			}
		}
	}
	for _, word := range []string{"alice", "bob", "secret plan", "Subject", "tea"} {
		if bytes.Contains(b, []byte(word)) {
			t.Fatalf("envelope contains plaintext %q", word)
		}
	}
	// The tag is the same for two mails to one recipient on one day, and
	// differs between recipients.
	b2 := f.seal(t, f.bob.Public, []byte("again"))
	b3 := f.seal(t, f.eve.Public, f.body)
	h1, _ := ParseHeader(b)
	h2, _ := ParseHeader(b2)
	h3, _ := ParseHeader(b3)
	if h1.Tag != h2.Tag || h1.Tag == h3.Tag {
		t.Errorf("tags: same recipient %v/%v, other recipient %v", h1.Tag, h2.Tag, h3.Tag)
	}
	if h1.EphemeralKey == h2.EphemeralKey {
		t.Errorf("ephemeral key reused")
	}
}

func TestForgedSenderFails(t *testing.T) {
	// Eve seals to Bob and then swaps Alice's key into the inner layer:
	// she cannot, since she would need Alice's secret key to make the inner
	// box. The best she can do is seal as herself, and Bob sees Eve.
	f := newFixture(t)
	e, err := f.ke.Seal(SealParams{To: f.bob.Public, Body: []byte("From: alice"), Created: t0, Expiry: t0.Add(time.Hour), Hops: 1})
	if err != nil {
		t.Fatal(err)
	}
	l, err := f.kb.Open(e.Encode(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if l.Sender != f.eve.Public {
		t.Fatalf("sender %v, want eve %v", l.Sender, f.eve.Public)
	}
}

func TestAckVerify(t *testing.T) {
	f := newFixture(t)
	b := f.seal(t, f.bob.Public, f.body)
	l, err := f.kb.Open(b, t0)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := ParseHeader(b)
	enc := l.Ack.AppendBinary(nil)
	a, err := DecodeAck(enc)
	if err != nil || a != l.Ack {
		t.Fatalf("ack round trip: %v", err)
	}
	forged := a
	forged.Secret[0] ^= 1
	if forged.Verify(h.AckHash) {
		t.Fatal("forged ack verified")
	}
	if _, err := DecodeAck(enc[:63]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short ack: %v", err)
	}
}

func TestSealRejectsBadParams(t *testing.T) {
	f := newFixture(t)
	if _, err := f.ka.Seal(SealParams{To: f.bob.Public, Created: t0, Expiry: t0}); err == nil {
		t.Error("expiry equal to creation accepted")
	}
	if _, err := f.ka.Seal(SealParams{To: f.bob.Public, Body: make([]byte, MaxCiphertext), Created: t0, Expiry: t0.Add(time.Hour)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize body: %v", err)
	}
}

func TestSharedKeyCache(t *testing.T) {
	f := newFixture(t)
	k := NewKeyring(Config{Identity: f.bob, KeyCacheSize: 2})
	for i := 0; i < 3; i++ {
		if _, err := k.Open(f.seal(t, f.bob.Public, f.body), t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := k.cache.len(); n != 1 {
		t.Fatalf("cache holds %d keys after three mails from one sender, want 1", n)
	}
	other := NewKeyring(Config{Identity: f.eve, Rand: newDetRand(40)})
	third := NewKeyring(Config{Identity: mustKeys(t, 9), Rand: newDetRand(41)})
	for _, s := range []*Keyring{other, third} {
		e, _ := s.Seal(SealParams{To: f.bob.Public, Body: f.body, Created: t0, Expiry: t0.Add(time.Hour), Hops: 1})
		if _, err := k.Open(e.Encode(), t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := k.cache.len(); n != 2 {
		t.Fatalf("cache holds %d keys, want its capacity 2", n)
	}
}

func TestSecretKeyNeverPrinted(t *testing.T) {
	kp := mustKeys(t, 5)
	for _, s := range []string{kp.Secret.String(), kp.Secret.GoString(), kp.Secret.LogValue().String(), kp.LogValue().String()} {
		if bytes.Contains([]byte(s), []byte(PublicKey(kp.Secret).String()[:16])) {
			t.Fatalf("secret leaked in %q", s)
		}
	}
}
