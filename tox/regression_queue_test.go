package tox

import (
	"errors"
	"testing"

	"github.com/toxmail/toxmail/mesh"
)

// A frame larger than MaxQueue (but within MaxFrame, as the daemon sets it
// for an envelope limit over 16 MiB) goes alone into an empty queue. It
// was refused as backpressure however empty the queue was, so the mesh
// retried it forever and every later frame to that friend waited behind it.
func TestRegressionFrameOverMaxQueueGoesAlone(t *testing.T) {
	tr := NewTransport(TransportConfig{MaxFrame: 4 << 20, MaxQueue: 1 << 20})
	defer tr.Close()
	var pk PublicKey
	pk[0] = 7
	tr.onFriendConnection(0, pk, ConnectionUDP)
	big := make([]byte, 3<<20)
	big[0] = mesh.ProtocolVersion
	if err := tr.Send(pk, big); err != nil {
		t.Fatalf("a %d-byte frame into an empty queue: %v, want it queued", len(big), err)
	}
	if err := tr.Send(pk, []byte{mesh.ProtocolVersion, 1}); !errors.Is(err, mesh.ErrBackpressure) {
		t.Errorf("a frame behind it: %v, want backpressure while the queue is over MaxQueue", err)
	}
	if err := tr.Send(pk, make([]byte, 5<<20)); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("a frame over MaxFrame: %v, want ErrFrameTooLarge", err)
	}
}
