package tox

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestLimitsMatchLibtoxcore(t *testing.T) {
	want := map[string]int{
		"public_key":     PublicKeySize,
		"secret_key":     SecretKeySize,
		"nospam":         NospamSize,
		"address":        AddressSize,
		"message":        MaxMessageLength,
		"custom_packet":  MaxCustomPacket,
		"friend_request": MaxFriendRequest,
		"name":           MaxNameLength,
		"status_message": MaxStatusMessageLength,
		"hostname":       MaxHostnameLength,
	}
	for name, got := range libLimits() {
		if got != want[name] {
			t.Errorf("%s: libtoxcore says %d, constant is %d", name, got, want[name])
		}
	}
}

func TestAddressRoundTrip(t *testing.T) {
	var pk PublicKey
	for i := range pk {
		pk[i] = byte(i * 7)
	}
	a := MakeAddress(pk, 0xDEADBEEF)
	if !a.Valid() || a.PublicKey() != pk || a.Nospam() != 0xDEADBEEF {
		t.Fatalf("MakeAddress: got %v valid=%v nospam=%x", a, a.Valid(), a.Nospam())
	}
	s := a.String()
	if len(s) != 76 || s != strings.ToUpper(s) {
		t.Fatalf("String: got %q, want 76 upper-case hex digits", s)
	}
	for _, in := range []string{s, strings.ToLower(s), " " + s + "\n"} {
		got, err := ParseAddress(in)
		if err != nil || got != a {
			t.Fatalf("ParseAddress(%q): got %v, %v", in, got, err)
		}
	}
	// Every single-character typo is caught by the checksum or the hex check.
	for i := range 72 {
		b := []byte(s)
		b[i] = "0123456789ABCDEF"[(strings.IndexByte("0123456789ABCDEF", b[i])+1)%16]
		if _, err := ParseAddress(string(b)); !errors.Is(err, ErrBadChecksum) {
			t.Fatalf("typo at %d: got %v, want ErrBadChecksum", i, err)
		}
	}
	for _, bad := range []struct {
		in   string
		want error
	}{
		{"", ErrInvalid},
		{s[:74], ErrInvalid},
		{s + "00", ErrInvalid},
		{"G" + s[1:], ErrInvalid},
		{s[:75] + "0", ErrBadChecksum},
	} {
		if s[75] == '0' && bad.want == ErrBadChecksum {
			bad.in = s[:75] + "1"
		}
		if _, err := ParseAddress(bad.in); !errors.Is(err, bad.want) {
			t.Errorf("ParseAddress(%q): got %v, want %v", bad.in, err, bad.want)
		}
	}
}

// TestAddressOfRealInstance checks the checksum and nospam layout against
// libtoxcore's own tox_self_get_address and tox_self_get_nospam.
func TestAddressOfRealInstance(t *testing.T) {
	x := pairNew(t, pairOptions(t))
	addr := x.Address()
	if !addr.Valid() {
		t.Fatalf("libtoxcore's address %v fails our checksum", addr)
	}
	if got, err := ParseAddress(addr.String()); err != nil || got != addr {
		t.Fatalf("ParseAddress(own address): %v, %v", got, err)
	}
	var nospam uint32
	if err := x.Do(func(c *Core) error { nospam = c.Nospam(); return nil }); err != nil {
		t.Fatal(err)
	}
	if addr.Nospam() != nospam || MakeAddress(x.PublicKey(), nospam) != addr {
		t.Fatalf("nospam: address says %08x, libtoxcore %08x", addr.Nospam(), nospam)
	}
	if addr.PublicKey() != x.PublicKey() || x.PublicKey().IsZero() {
		t.Fatalf("address key %v, public key %v", addr.PublicKey(), x.PublicKey())
	}
	if x.DHTKey() == x.PublicKey() || x.DHTKey().IsZero() {
		t.Fatal("DHT key should be a separate, non-zero key")
	}
}

func TestParsePublicKey(t *testing.T) {
	var pk PublicKey
	pk[0], pk[31] = 0xAB, 0x01
	got, err := ParsePublicKey(strings.ToLower(pk.String()))
	if err != nil || got != pk {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", pk.String()[:62], pk.String() + "00", "Z" + pk.String()[1:]} {
		if _, err := ParsePublicKey(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePublicKey(%q): got %v, want ErrInvalid", bad, err)
		}
	}
}

func TestSecretKeyRedacted(t *testing.T) {
	var k SecretKey
	for i := range k {
		k[i] = 0xA5
	}
	type holder struct{ Key SecretKey }
	var sb strings.Builder
	log := slog.New(slog.NewTextHandler(&sb, nil))
	log.Info("key", "sk", k, "holder", holder{k})
	outs := []string{
		k.String(), k.GoString(),
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %q %x %X %d %08b", k, k, k, k, k, k, k, k, k),
		fmt.Sprintf("%v %+v %#v", holder{k}, holder{k}, &holder{k}),
		sb.String(),
	}
	for _, out := range outs {
		if strings.Contains(strings.ToLower(out), "a5") || strings.Contains(out, "165") {
			t.Errorf("secret key leaked: %q", out)
		}
	}
	if _, err := json.Marshal(holder{k}); err == nil {
		t.Error("json.Marshal of a secret key should fail")
	}
	if k.IsZero() || !(SecretKey{}).IsZero() {
		t.Error("IsZero")
	}
}

func TestEnumStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{ConnectionNone.String(), "none"},
		{ConnectionTCP.String(), "tcp"},
		{ConnectionUDP.String(), "udp"},
		{Connection(9).String(), "Connection(9)"},
		{MessageNormal.String(), "normal"},
		{MessageAction.String(), "action"},
		{MessageType(5).String(), "MessageType(5)"},
		{ProxySOCKS5.String(), "socks5"},
		{ProxyType(3).String(), "ProxyType(3)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
