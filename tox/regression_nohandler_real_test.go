package tox

import (
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// TestRegressionLateStartRealTox: over real Tox. B's transport is attached
// and its Tox connected to A before B's mesh node starts (as when the node
// loads a big store, or cmd starts Tox first). A's hello reaches B's
// transport with no handler and is discarded. B's node then never marks A
// ready: mail B submits for A is never offered to A on this connection.
func TestRegressionLateStartRealTox(t *testing.T) {
	t.Parallel()
	a := startPeer(t, "A", nil, mesh.NewMemStore(), TransportConfig{})
	xb := pairNew(t, pairOptions(t))
	trb := NewTransport(TransportConfig{})
	t.Cleanup(func() { trb.Close() })
	if err := trb.Attach(xb); err != nil {
		t.Fatal(err)
	}
	befriend(t, a.x, xb)
	pairBootstrap(t, a.x, xb)
	waitFor(t, dhtConnectTimeout, "A's hello reached B's transport", func() bool { return trb.Stats().FramesIn > 0 })
	sk, _ := xb.SecretKey()
	kp, _ := envelope.KeyPairFromSecret(envelope.SecretKey(sk))
	box := &meshBox{}
	nb, err := mesh.NewNode(mesh.DefaultConfig(), mesh.Deps{Identity: kp, Transport: trb, Store: mesh.NewMemStore(), Mailbox: box})
	if err != nil {
		t.Fatal(err)
	}
	if err := nb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nb.Close() })
	if _, err := nb.Submit(mesh.Outgoing{To: a.x.PublicKey(), Body: []byte("Subject: B to A\r\n\r\nhello\r\n")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && len(a.box.list()) == 0 {
		time.Sleep(100 * time.Millisecond)
	}
	var bReady bool
	for _, p := range nb.Peers() {
		if p.Key == a.x.PublicKey() {
			bReady = p.MeshPeer
		}
	}
	var aReady bool
	for _, p := range a.node.Peers() {
		if p.Key == xb.PublicKey() {
			aReady = p.MeshPeer
		}
	}
	t.Logf("A ready for B: %v; B ready for A: %v; A got %d mails; B transport %+v", aReady, bReady, len(a.box.list()), trb.Stats())
	if len(a.box.list()) == 0 {
		t.Errorf("B's mail for A, both online and connected, was not delivered in 20 s")
	}
}
