package envelope

import (
	"testing"
	"time"
)

func benchBody() []byte {
	b := make([]byte, 1024)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// BenchmarkSeal seals a 1 KiB mail (one ephemeral key and one outer X25519
// per envelope; the inner shared key is cached per recipient).
func BenchmarkSeal(b *testing.B) {
	fx := newFixture(b)
	body := benchBody()
	p := SealParams{To: fx.bob.Public, Body: body, Created: t0, Expiry: t0.Add(time.Hour), Hops: 4}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := fx.ka.Seal(p); err != nil {
			b.Fatal(err)
		}
	}
}

func benchOpen(b *testing.B, cacheSize int) {
	fx := newFixture(b)
	body := benchBody()
	e, err := fx.ka.Seal(SealParams{To: fx.bob.Public, Body: body, Created: t0, Expiry: t0.Add(time.Hour), Hops: 4})
	if err != nil {
		b.Fatal(err)
	}
	enc := e.Encode()
	k := NewKeyring(Config{Identity: fx.bob, KeyCacheSize: cacheSize})
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := k.Open(enc, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen opens a 1 KiB mail cold: two X25519 operations (outer
// ephemeral, inner sender).
func BenchmarkOpen(b *testing.B) { benchOpen(b, -1) }

// BenchmarkOpenCached opens a 1 KiB mail from a sender whose shared key is
// cached: one X25519 (the outer ephemeral layer, unavoidable).
func BenchmarkOpenCached(b *testing.B) { benchOpen(b, DefaultKeyCacheSize) }

// BenchmarkParseHeaderAndID is the relay's per-envelope cost: strict header
// parse and ID hash of a sealed 1 KiB mail.
func BenchmarkParseHeaderAndID(b *testing.B) {
	fx := newFixture(b)
	enc := fx.seal(b, fx.bob.Public, benchBody())
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := ParseHeader(enc); err != nil {
			b.Fatal(err)
		}
		_ = ComputeID(enc)
	}
}
