package envelope

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary bytes to the strict decoder: it must never
// panic, and whatever it accepts must re-encode to the same bytes.
func FuzzDecode(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.seal(f, fx.bob.Public, fx.body))
	f.Add(fx.seal(f, fx.bob.Public, nil))
	f.Add([]byte{1, 1, 0, 0})
	f.Add(make([]byte, HeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Encode(), b) {
			t.Fatalf("accepted bytes do not re-encode identically")
		}
		if e.ID() != ComputeID(b) {
			t.Fatalf("ID differs between decoded and raw forms")
		}
	})
}

// FuzzOpen feeds arbitrary bytes, and mutations of a real envelope, to Open:
// it must never panic, and must open only the untampered envelope.
func FuzzOpen(f *testing.F) {
	fx := newFixture(f)
	good := fx.seal(f, fx.bob.Public, fx.body)
	f.Add(good)
	f.Add(good[:HeaderSize+MinCiphertext])
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := fx.kb.Open(b, t0)
		if err != nil {
			return
		}
		if !bytes.Equal(l.Body, fx.body) || l.Sender != fx.alice.Public {
			t.Fatalf("opened something other than the sealed mail")
		}
	})
}

func TestFuzzSeedsPass(t *testing.T) {
	// The seed corpus also runs in plain `go test`; this keeps a check that
	// the fuzz fixture itself opens.
	fx := newFixture(t)
	if _, err := fx.kb.Open(fx.seal(t, fx.bob.Public, fx.body), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}
