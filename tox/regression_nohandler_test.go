package tox

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/toxmail/toxmail/mesh"
)

// TestRegressionHelloBeforeHandlerLost: the transport is attached (friends
// connect, their hellos arrive) before the mesh node's Start has called
// SetHandler (Start loads the whole store first). Those events must wait
// for the handler: if the hello were lost, the node would never become
// ready for that friend and never offer it anything on this connection.
func TestRegressionHelloBeforeHandlerLost(t *testing.T) {
	tr := NewTransport(TransportConfig{})
	defer tr.Close()
	f := mustKeyPair(t).Public
	tr.onFriendConnection(0, f, ConnectionUDP)
	inject(tr, 0, f, binary.BigEndian.AppendUint32([]byte{mesh.ProtocolVersion, 1}, 7)) // its hello
	waitFor(t, 5*time.Second, "dispatch reached the events", func() bool {
		tr.events.mu.Lock()
		defer tr.events.mu.Unlock()
		return len(tr.events.items) <= 1 // the first is held until a handler is set
	})
	node := startMemNode(t, tr)
	if _, err := node.Submit(mesh.Outgoing{To: f, Body: []byte("Subject: x\r\n\r\nhi\r\n")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	types := queuedTypes(tr, f)
	t.Logf("frame types queued to F: %v (1 hello, 2 offer)", types)
	for _, ty := range types {
		if ty == 2 {
			return
		}
	}
	t.Errorf("the friend's hello was discarded (no handler yet); mail to it is never offered on this connection")
}
