package main

import (
	"strings"
	"testing"

	"github.com/toxmail/toxmail/config"
)

// The summary's inbox line gives the quota, and says what a full inbox
// means and which knob sets it.
func TestWriteStatusInbox(t *testing.T) {
	for _, tc := range []struct {
		mails        int
		bytes, quota int64
		full         bool
		short        int64
		want         string
	}{
		{1, 2048, 0, false, 0, "  inbox:     1 mail, 2.0 KiB\n"},
		{3, 5 << 20, 1 << 30, false, 0, "  inbox:     3 mails, 5.0 MiB of 1.0 GiB\n"},
		{3, 950 << 20, 1 << 30, false, 0, "  inbox:     3 mails, 950.0 MiB of 1.0 GiB: nearly full (pop3.max_mailbox_bytes)\n"},
		{3, 1 << 30, 1 << 30, true, 0, "  inbox:     3 mails, 1.0 GiB of 1.0 GiB: FULL, so mail for you waits with its senders until you delete some (pop3.max_mailbox_bytes)\n"},
		{3, 10 << 20, 16 << 20, false, 2 << 20, "  inbox:     3 mails, 10.0 MiB of 16.0 MiB: a mail for you does not fit and waits with its senders until you delete at least 2.0 MiB (pop3.max_mailbox_bytes)\n"},
	} {
		var st nodeStatus
		st.Inbox.Mails, st.Inbox.Bytes, st.Inbox.Quota, st.Inbox.Full = tc.mails, tc.bytes, tc.quota, tc.full
		st.Inbox.Refusing, st.Inbox.Short = tc.short > 0, tc.short
		var b strings.Builder
		writeStatus(&b, &st)
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("status of %+v lacks %q:\n%s", st.Inbox, tc.want, b.String())
		}
	}
}

// TestWriteStatusBootstrap: the [[tox.bootstrap]] entry for the node, as
// TOML that another node's config takes as it is, with tcp_port only when
// the node runs a TCP relay, and none while the node does not know its
// DHT key or port.
func TestWriteStatusBootstrap(t *testing.T) {
	key := strings.Repeat("AB", 32)
	for _, tc := range []struct {
		dht      string
		udp, tcp uint16
	}{
		{key, 33445, 0},
		{key, 33445, 3389},
		{"", 33445, 0},
	} {
		var st nodeStatus
		st.Identity.DHTKey, st.Identity.UDPPort, st.Identity.TCPPort = tc.dht, tc.udp, tc.tcp
		var b strings.Builder
		writeStatus(&b, &st)
		out := b.String()
		_, entry, ok := strings.Cut(out, "               [[tox.bootstrap]]\n")
		if tc.dht == "" {
			if strings.Contains(out, "bootstrap") {
				t.Errorf("status without a DHT key names a bootstrap entry:\n%s", out)
			}
			continue
		}
		var lines []string
		for _, l := range strings.SplitAfter(entry, "\n") {
			if !strings.HasPrefix(l, "               ") {
				break
			}
			lines = append(lines, l)
		}
		other := "[dashboard]\ntoken = \"" + strings.Repeat("t", 32) + "\"\n\n[[tox.bootstrap]]\n" + strings.Join(lines, "")
		c, err := config.Parse([]byte(other), "other.toml")
		if !ok || err != nil || len(c.Tox.Bootstrap) != 1 {
			t.Fatalf("%+v: the entry in\n%s\ndoes not parse as a config's: %v", st.Identity, out, err)
		}
		got := c.Tox.Bootstrap[0]
		if got.Host != "127.0.0.1" || got.Port != tc.udp || got.TCPPort != tc.tcp || got.PublicKey.String() != key {
			t.Errorf("%+v: the pasted entry reads %+v", st.Identity, got)
		}
	}
}
