package inbox

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func testStored() stored {
	return stored{
		Message: Message{
			Seq:      7,
			UID:      testID(0x5a).UID(),
			Envelope: testID(0x5a),
			Size:     3*chunkSize + 1,
			Received: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
			Meta: Meta{
				Sender:     [32]byte{9, 8, 7},
				PathLength: 3,
				Created:    time.Date(2026, 1, 2, 3, 0, 0, 999999999, time.UTC),
				KeepUntil:  time.Date(2026, 1, 9, 3, 0, 0, 0, time.UTC),
			},
		},
		body:      123456789,
		chunkSize: chunkSize,
	}
}

func TestMessageRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		edit func(*stored)
	}{
		{"typical", func(*stored) {}},
		{"zero times", func(s *stored) { s.Received, s.Meta.Created = time.Time{}, time.Time{} }},
		{"before 1970", func(s *stored) { s.Meta.Created = time.Date(1901, 1, 1, 0, 0, 0, 1, time.UTC) }},
		{"empty mail", func(s *stored) { s.Size = 0 }},
		{"max path", func(s *stored) { s.Meta.PathLength = MaxPathLength }},
	}
	for _, tt := range tests {
		want := testStored()
		tt.edit(&want)
		enc := encodeMessage(want)
		got, err := decodeMessage(want.Seq, enc)
		if err != nil {
			t.Errorf("%s: decode: %v", tt.name, err)
			continue
		}
		if got.Seq != want.Seq || got.UID != want.UID || got.Envelope != want.Envelope ||
			got.Size != want.Size || got.body != want.body || got.chunkSize != want.chunkSize ||
			!got.Received.Equal(want.Received) || got.Meta.Sender != want.Meta.Sender ||
			got.Meta.PathLength != want.Meta.PathLength || !got.Meta.Created.Equal(want.Meta.Created) ||
			!got.Meta.KeepUntil.Equal(want.Meta.KeepUntil) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, want)
		}
		if got.Received.IsZero() != want.Received.IsZero() {
			t.Errorf("%s: Received.IsZero() = %v, want %v", tt.name, got.Received.IsZero(), want.Received.IsZero())
		}
		if again := encodeMessage(got); !bytes.Equal(again, enc) {
			t.Errorf("%s: re-encoding: got %x, want %x", tt.name, again, enc)
		}
	}
}

func TestDecodeRejectsCorruptRecords(t *testing.T) {
	good := encodeMessage(testStored())
	with := func(off int, b ...byte) []byte {
		r := bytes.Clone(good)
		copy(r[off:], b)
		return r
	}
	const (
		offSize  = 1 + 32 + 8
		offChunk = offSize + 8
		offRecv  = offChunk + 4
		offPath  = offRecv + timeLen + 32
	)
	tests := []struct {
		name string
		dec  func([]byte) error
		in   []byte
	}{
		{"message: empty", decMessage, nil},
		{"message: short", decMessage, good[:len(good)-1]},
		{"message: trailing byte", decMessage, append(bytes.Clone(good), 0)},
		{"message: version 0", decMessage, with(0, 0)},
		{"message: version 2", decMessage, with(0, 2)},
		{"message: size over 1 TiB", decMessage, with(offSize, 0, 0, 1, 0, 0, 0, 0, 1)},
		{"message: chunk size 0", decMessage, with(offChunk, 0, 0, 0, 0)},
		{"message: chunk size huge", decMessage, with(offChunk, 0xff, 0, 0, 0)},
		{"message: nanoseconds 1e9", decMessage, with(offRecv+8, 0x3b, 0x9a, 0xca, 0x00)},
		{"message: path length", decMessage, with(offPath, 0, 1, 0, 0)},
		{"index: short", decIndex, encodeIndex(1)[:8]},
		{"index: seq 0", decIndex, encodeIndex(0)},
		{"index: version", decIndex, append([]byte{9}, encodeIndex(1)[1:]...)},
		{"tomb: long", decTomb, append(encodeTomb(time.Now()), 1)},
		{"tomb: bad nanoseconds", decTomb, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
		{"pending: reason 0", decPending, []byte{1, 0}},
		{"pending: reason 3", decPending, []byte{1, 3}},
		{"counter: 7 bytes", decCounter, make([]byte, 7)},
	}
	for _, tt := range tests {
		if err := tt.dec(tt.in); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", tt.name, err)
		}
	}
	if err := decMessage(good); err != nil {
		t.Errorf("good record: %v", err)
	}
}

func decMessage(b []byte) error { _, err := decodeMessage(1, b); return err }
func decIndex(b []byte) error   { _, err := decodeIndex(b); return err }
func decTomb(b []byte) error    { _, err := decodeTomb(b); return err }
func decPending(b []byte) error { _, err := decodePending(b); return err }
func decCounter(b []byte) error { _, err := decodeCounter(b); return err }

// FuzzDecodeRecords feeds arbitrary bytes to every record decoder: none may
// panic, and whatever one accepts must re-encode to the same bytes (one
// encoding per value).
func FuzzDecodeRecords(f *testing.F) {
	f.Add(encodeMessage(testStored()))
	f.Add(encodeIndex(42))
	f.Add(encodeTomb(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	f.Add(encodeTomb(time.Time{}))
	f.Add(encodePending(pendingStaged))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeMessage(1, b); err == nil {
			if again := encodeMessage(s); !bytes.Equal(again, b) {
				t.Fatalf("message %x re-encodes as %x", b, again)
			}
			if s.Size < 0 || s.chunkSize <= 0 || s.chunks() < 0 {
				t.Fatalf("message %x decodes to size %d, chunk %d", b, s.Size, s.chunkSize)
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("message error %v is not ErrCorrupt", err)
		}
		if seq, err := decodeIndex(b); err == nil && !bytes.Equal(encodeIndex(seq), b) {
			t.Fatalf("index %x re-encodes differently", b)
		}
		if keep, err := decodeTomb(b); err == nil && !bytes.Equal(encodeTomb(keep), b) {
			t.Fatalf("tombstone %x re-encodes as %x", b, encodeTomb(keep))
		}
		if r, err := decodePending(b); err == nil && !bytes.Equal(encodePending(r), b) {
			t.Fatalf("pending %x re-encodes differently", b)
		}
	})
}
