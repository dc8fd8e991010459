package tox

import (
	"testing"
	"time"

	"github.com/toxmail/toxmail/mesh"
)

// A toxmail node whose mesh is still starting (its transport attached, no
// mesh handler yet: the daemon opens its stores after Tox) is not taken
// for a plain Tox client by a friend that waits HelloTimeout for a mesh
// packet. It was, and the friend's mail to it went out as text meanwhile.
func TestRegressionSlowMeshNotPlain(t *testing.T) {
	t.Parallel()
	a := startPeer(t, "A", nil, mesh.NewMemStore(), TransportConfig{HelloTimeout: 2 * time.Second})
	opts := pairOptions(t)
	bx := pairNewOwnPort(t, opts)
	btr := NewTransport(TransportConfig{Logger: opts.Logger})
	defer btr.Close()
	if err := btr.Attach(bx); err != nil { // and no mesh: it has not started yet
		t.Fatal(err)
	}
	befriend(t, a.x, bx)
	pairBootstrap(t, a.x, bx)
	waitFor(t, dhtConnectTimeout, "A and B connected", func() bool { return a.connectedTo(bx.PublicKey()) })
	waitFor(t, 10*time.Second, "B's transport announced", func() bool { return a.tr.Kind(bx.PublicKey()) == PeerMesh })
	time.Sleep(3 * time.Second) // past A's HelloTimeout
	if k := a.tr.Kind(bx.PublicKey()); k != PeerMesh {
		t.Fatalf("A files B, whose mesh has not started, as %v; want mesh", k)
	}
	for _, p := range a.node.Peers() {
		if p.Key == bx.PublicKey() && !p.Online {
			t.Error("A's mesh sees B offline")
		}
	}
	if st := btr.Stats(); st.PacketsIn == 0 {
		t.Errorf("B's transport got nothing from A: %+v", st)
	}
}
