package envelope

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"pgregory.net/rapid"
)

// TestMakeTagIsHMAC checks the hand-rolled HMAC against crypto/hmac, and a
// fixed value so that a change to both cannot pass unnoticed: a different
// tag would hide every envelope in flight from its recipient.
func TestMakeTagIsHMAC(t *testing.T) {
	var k PublicKey
	for i := range k {
		k[i] = byte(i*7 + 1)
	}
	if got := MakeTag(k, 20000); hex.EncodeToString(got[:]) != "d2295fc7541c85f2f33f16ef109ee593" {
		t.Fatalf("MakeTag = %x, want d2295fc7541c85f2f33f16ef109ee593", got)
	}
	rapid.Check(t, func(t *rapid.T) {
		copy(k[:], rapid.SliceOfN(rapid.Byte(), KeySize, KeySize).Draw(t, "key"))
		epoch := rapid.Uint64().Draw(t, "epoch")
		m := hmac.New(sha256.New, k[:])
		m.Write([]byte(tagDomain))
		m.Write(binary.BigEndian.AppendUint64(nil, epoch))
		want := m.Sum(nil)
		if got := MakeTag(k, epoch); hex.EncodeToString(got[:]) != hex.EncodeToString(want[:len(got)]) {
			t.Fatalf("MakeTag = %x, HMAC-SHA256 = %x", got, want)
		}
	})
}

func BenchmarkMakeTag(b *testing.B) {
	var k PublicKey
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		MakeTag(k, i)
	}
}
