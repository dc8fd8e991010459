package mesh

import (
	"testing"

	"github.com/toxmail/toxmail/envelope"
)

// The largest frames of each session kind the node can send are session
// frames to a transport: none is over MaxControlFrame, the full ack batch
// is exactly it, and an envelope or a longer frame is not one.
func TestIsControlBounds(t *testing.T) {
	ids := make([]envelope.ID, MaxBatchLimit)
	frames := map[string][]byte{
		"hello":   encodeHello(nil, 7),
		"offer":   encodeOffer(1, make([]offerItem, MaxBatchLimit)),
		"request": encodeRequest(nil, 1, ids[:MaxBatchLimit/2], ids[MaxBatchLimit/2:]),
		"ack":     encodeAcks(nil, make([]envelope.Ack, MaxBatchLimit)),
	}
	for kind, f := range frames {
		if !IsControl(f) || len(f) > MaxControlFrame {
			t.Errorf("the largest %s frame (%d bytes) is not a session frame (MaxControlFrame %d)", kind, len(f), MaxControlFrame)
		}
	}
	if n := len(frames["ack"]); n != MaxControlFrame {
		t.Errorf("a full ack frame is %d bytes, MaxControlFrame %d", n, MaxControlFrame)
	}
	if IsControl(encodeEnvelope(make([]byte, envelope.SealedSize(0)), 3)) {
		t.Error("an envelope frame counts as a session frame")
	}
	if IsControl(append(frames["ack"], 0)) {
		t.Error("a frame over MaxControlFrame counts as a session frame")
	}
}
