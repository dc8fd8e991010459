package tox

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func chunks(t *testing.T, frames ...[]byte) [][]byte {
	t.Helper()
	var q sendQueue
	for _, f := range frames {
		q.push(f)
	}
	var out [][]byte
	buf := make([]byte, MaxCustomPacket)
	for !q.empty() {
		p := q.next(buf)
		if len(p) > MaxCustomPacket {
			t.Fatalf("packet of %d bytes", len(p))
		}
		out = append(out, append([]byte(nil), p...))
		q.advance(p)
	}
	if q.bytes != 0 {
		t.Fatalf("queue accounts %d bytes after sending everything", q.bytes)
	}
	return out
}

func TestChunkRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 100, 1368, 1369, 1372, 2740, 2741, 100000, 1 << 20}
	var frames [][]byte
	for _, n := range sizes {
		f := make([]byte, n)
		for i := range f {
			f[i] = byte(rng.IntN(256))
		}
		frames = append(frames, f)
	}
	r := reassembler{max: 2 << 20}
	var got [][]byte
	for _, p := range chunks(t, frames...) {
		f, err := r.add(p)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			got = append(got, f)
		}
	}
	if len(got) != len(frames) {
		t.Fatalf("got %d frames, want %d", len(got), len(frames))
	}
	for i := range frames {
		if !bytes.Equal(got[i], frames[i]) {
			t.Fatalf("frame %d (%d bytes) differs", i, len(frames[i]))
		}
	}
}

func TestReassemblyErrors(t *testing.T) {
	big := make([]byte, 5000)
	ps := chunks(t, big)
	cases := []struct {
		name string
		pkts [][]byte
		want int // frames that must come out whole
	}{
		{"continuation without start", [][]byte{ps[1]}, 0},
		{"interrupted then whole", append([][]byte{ps[0], ps[1]}, ps...), 1},
		{"over the limit", [][]byte{{pktFrameStart, 0, 0x10, 0, 0, 1}}, 0},
		{"zero length", [][]byte{{pktFrameStart, 0, 0, 0, 0}}, 0},
		{"start too long", [][]byte{{pktFrameStart, 0, 0, 0, 1, 1, 2}}, 0},
		{"short start", [][]byte{{pktFrameStart, 0, 0, 0, 9, 1, 2}}, 0},
		{"truncated start", [][]byte{{pktFrameStart, 0, 0}}, 0},
		{"overrun", [][]byte{ps[0], ps[1], ps[2], append(append([]byte(nil), ps[3]...), 1, 2, 3)}, 0},
		{"unknown id", [][]byte{{170, 1}}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := reassembler{max: 1 << 20}
			whole, errs := 0, 0
			for _, p := range c.pkts {
				f, err := r.add(p)
				if err != nil {
					errs++
					if !errors.Is(err, errChunk) {
						t.Fatalf("error %v does not wrap errChunk", err)
					}
				}
				if f != nil {
					if !bytes.Equal(f, big) {
						t.Fatalf("a wrong frame came out")
					}
					whole++
				}
			}
			if whole != c.want || errs == 0 {
				t.Fatalf("got %d whole frames and %d errors, want %d frames and an error", whole, errs, c.want)
			}
		})
	}
}

// TestDisconnectDiscardsPartial: a frame cut off by a disconnect is
// discarded, and the next frame after reconnecting arrives whole.
func TestDisconnectDiscardsPartial(t *testing.T) {
	a, b := make([]byte, 10000), make([]byte, 3000)
	a[0], b[0] = 'a', 'b'
	pa, pb := chunks(t, a), chunks(t, b)
	r := reassembler{max: 1 << 20}
	for _, p := range pa[:3] {
		if f, err := r.add(p); f != nil || err != nil {
			t.Fatalf("partial frame: %v %v", f, err)
		}
	}
	if !r.reset() {
		t.Fatal("reset found no partial frame")
	}
	var got []byte
	for _, p := range pb {
		f, err := r.add(p)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			got = f
		}
	}
	if !bytes.Equal(got, b) {
		t.Fatal("the frame after the disconnect did not arrive whole")
	}
}

func FuzzReassemble(f *testing.F) {
	f.Add([]byte{pktFrameStart, 0, 0, 0, 3, 1, 2, 3})
	f.Add([]byte{pktFrameMore, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := reassembler{max: 1 << 16}
		// Cut the input into packets at 0xff bytes.
		for _, p := range bytes.Split(b, []byte{0xff}) {
			if len(p) > MaxCustomPacket {
				p = p[:MaxCustomPacket]
			}
			f, err := r.add(p)
			if f != nil && len(f) > r.max {
				t.Fatalf("frame of %d bytes over the limit", len(f))
			}
			_ = err
		}
	})
}
