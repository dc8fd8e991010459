package tox

import (
	"strings"
	"testing"
)

// TestRegressionTextEventsUnbounded: text events are not counted against
// MaxInbound; while OnText is slow (it writes a mail to the inbox), a
// friend's text flood grows the event queue without bound, and every mesh
// frame from every friend waits behind it.
func TestRegressionTextEventsUnbounded(t *testing.T) {
	gate := make(chan struct{})
	tr := NewTransport(TransportConfig{MaxInbound: 1 << 20, OnText: func(PublicKey, string, string) { <-gate }})
	defer func() { close(gate); tr.Close() }()
	var pk PublicKey
	text := strings.Repeat("x", MaxMessageLength)
	for i := 0; i < 20000; i++ {
		tr.onFriendMessage(0, pk, MessageNormal, text)
	}
	tr.events.mu.Lock()
	n, bytes := len(tr.events.items), tr.events.bytes
	tr.events.mu.Unlock()
	t.Logf("%d events queued holding ~%d MB of text; queue's byte count %d; MaxInbound 1 MB", n, n*len(text)>>20, bytes)
	if n*len(text) > 1<<20 {
		t.Errorf("event queue holds %d MB of text past MaxInbound", n*len(text)>>20)
	}
}
