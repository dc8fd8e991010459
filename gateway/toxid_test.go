package gateway_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
)

// vectorID is key 00 01 .. 1F, nospam DEADBEEF; the checksum 60 42 was
// computed independently: 0x60 is the XOR of bytes 0, 2, .., 34, 0x42 of
// bytes 1, 3, .., 35.
const vectorID = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F" + "DEADBEEF" + "6042"

// resolveTestID returns a valid Tox ID whose key bytes are all seed, but
// the last, which is seed without its top bit (as every Tox key's is).
func resolveTestID(seed byte) gateway.ToxID {
	var pk envelope.PublicKey
	for i := range pk {
		pk[i] = seed
	}
	pk[31] &= 0x7f
	return gateway.NewToxID(pk, [4]byte{seed, 1, 2, 3})
}

func TestToxIDVector(t *testing.T) {
	var pk envelope.PublicKey
	for i := range pk {
		pk[i] = byte(i)
	}
	id := gateway.NewToxID(pk, [4]byte{0xDE, 0xAD, 0xBE, 0xEF})
	if got, want := id.String(), vectorID; got != want {
		t.Errorf("NewToxID: got %q, want %q", got, want)
	}
	if got, want := id.PublicKey(), pk; got != want {
		t.Errorf("PublicKey: got %q, want %q", got, want)
	}
	if got, want := id.Nospam(), [4]byte{0xDE, 0xAD, 0xBE, 0xEF}; got != want {
		t.Errorf("Nospam: got %x, want %x", got, want)
	}
	if !id.Valid() || id.IsZero() {
		t.Errorf("Valid, IsZero: got %v, %v, want true, false", id.Valid(), id.IsZero())
	}
}

// topBitKey is vectorID's key with the top bit of its last byte set.
func topBitKey() envelope.PublicKey {
	var pk envelope.PublicKey
	for i := range pk {
		pk[i] = byte(i)
	}
	pk[31] |= 0x80
	return pk
}

func TestParseToxID(t *testing.T) {
	flipLast := vectorID[:75] + "3"
	tests := []struct {
		name, in string
		want     string // String() of the result when ok
		err      error  // errors.Is target when failing
		msg      string // the error message contains this
	}{
		{name: "upper", in: vectorID, want: vectorID},
		{name: "lower", in: strings.ToLower(vectorID), want: vectorID},
		{name: "mixed", in: strings.ToLower(vectorID[:40]) + vectorID[40:], want: vectorID},
		{name: "empty", in: "", err: gateway.ErrToxIDLength, msg: "got 0 characters"},
		{name: "short", in: vectorID[:75], err: gateway.ErrToxIDLength, msg: "76 hex digits, got 75"},
		{name: "long", in: vectorID + "0", err: gateway.ErrToxIDLength, msg: "got 77"},
		{name: "public key only", in: vectorID[:64], err: gateway.ErrToxIDLength, msg: "got 64"},
		{name: "spaces", in: " " + vectorID[1:], err: gateway.ErrToxIDHex, msg: "' ' at position 1"},
		{name: "non-hex", in: vectorID[:10] + "G" + vectorID[11:], err: gateway.ErrToxIDHex, msg: "'G' at position 11"},
		{name: "non-ascii", in: "é" + vectorID[2:], err: gateway.ErrToxIDHex, msg: "position 1"},
		{name: "bad checksum", in: flipLast, err: gateway.ErrToxIDChecksum, msg: "ends in 6043, its first 72 digits give 6042"},
		{name: "typo in key", in: "1" + vectorID[1:], err: gateway.ErrToxIDChecksum, msg: "checksum"},
		// The checksum matches, but no Tox node has this key.
		{name: "top bit set", in: gateway.NewToxID(topBitKey(), [4]byte{0xDE, 0xAD, 0xBE, 0xEF}).String(),
			err: gateway.ErrToxIDKey, msg: "digits 63–64 are 9F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := gateway.ParseToxID(tt.in)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("ParseToxID(%q): %v", tt.in, err)
				}
				if got := id.String(); got != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseToxID(%q): got error %v, want %v", tt.in, err, tt.err)
			}
			if got := err.Error(); !strings.Contains(got, tt.msg) {
				t.Errorf("got %q, want it to contain %q", got, tt.msg)
			}
		})
	}
}

func TestToxIDRoundTrip(t *testing.T) {
	for seed := range 256 {
		id := resolveTestID(byte(seed))
		got, err := gateway.ParseToxID(id.String())
		if err != nil {
			t.Fatalf("ParseToxID(%q): %v", id, err)
		}
		if got != id {
			t.Fatalf("got %q, want %q", got, id)
		}
		if got, want := id.Address(), id.String()+"@tox"; got != want {
			t.Fatalf("Address: got %q, want %q", got, want)
		}
	}
}

func TestToxIDText(t *testing.T) {
	type entry struct{ ID gateway.ToxID }
	id := resolveTestID(7)
	b, err := json.Marshal(entry{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"ID":"`+id.String()+`"}`; got != want {
		t.Errorf("json: got %q, want %q", got, want)
	}
	var back entry
	if err := json.Unmarshal(b, &back); err != nil || back.ID != id {
		t.Errorf("json round trip: got %q, %v, want %q", back.ID, err, id)
	}
	bad := strings.Replace(string(b), id.String()[:2], "FF", 1)
	if err := json.Unmarshal([]byte(bad), &back); !errors.Is(err, gateway.ErrToxIDChecksum) {
		t.Errorf("json with a bad checksum: got %v, want %v", err, gateway.ErrToxIDChecksum)
	}
}

func FuzzParseToxID(f *testing.F) {
	f.Add(vectorID)
	f.Add(strings.ToLower(vectorID))
	f.Add(vectorID[:75])
	f.Add("")
	f.Add(strings.Repeat("0", 76))
	f.Add(strings.Repeat("g", 76))
	f.Fuzz(func(t *testing.T, s string) {
		id, err := gateway.ParseToxID(s)
		if err != nil {
			if id != (gateway.ToxID{}) {
				t.Fatalf("ParseToxID(%q) failed but returned %q", s, id)
			}
			return
		}
		if !id.Valid() {
			t.Fatalf("ParseToxID(%q) = %q with a bad checksum", s, id)
		}
		if got := id.String(); !strings.EqualFold(got, s) {
			t.Fatalf("got %q, want %q (any case)", got, s)
		}
	})
}
