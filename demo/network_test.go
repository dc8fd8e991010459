package demo

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
)

// A member whose port is taken between the kernel naming it free and
// libtoxcore binding it starts on another port instead of failing the
// demo.
func TestStartPortTakenMeanwhile(t *testing.T) {
	t.Parallel()
	taken, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := uint16(taken.LocalAddr().(*net.UDPAddr).Port)
	asked := 0
	n := &network{root: t.TempDir(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	n.freePort = func() (uint16, error) {
		asked++
		if asked == 1 {
			return takenPort, nil
		}
		return freeUDPPort()
	}
	defer n.close()
	m, err := n.newMember("dave")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.start(m); err != nil {
		t.Fatalf("start with the first port taken: %v", err)
	}
	got, err := m.d.UDPPort()
	if err != nil {
		t.Fatal(err)
	}
	if asked != 2 || got == takenPort || got != m.cfg.Tox.UDPPortStart {
		t.Errorf("asked for %d ports, runs on %d (configured %d); want 2, not the taken %d", asked, got, m.cfg.Tox.UDPPortStart, takenPort)
	}

	// Any other failure is not retried.
	n.freePort = func() (uint16, error) { return 0, errors.New("no ports today") }
	m2, err := n.newMember("erin")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.start(m2); err == nil || err.Error() != "no ports today" {
		t.Errorf("start with no port: %v, want the port error", err)
	}
}
