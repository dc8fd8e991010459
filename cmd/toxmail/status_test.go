package main

import (
	"strings"
	"testing"
)

// The summary's inbox line gives the quota, and says what a full inbox
// means and which knob sets it.
func TestWriteStatusInbox(t *testing.T) {
	for _, tc := range []struct {
		mails        int
		bytes, quota int64
		full         bool
		want         string
	}{
		{1, 2048, 0, false, "  inbox:     1 mail, 2.0 KiB\n"},
		{3, 5 << 20, 1 << 30, false, "  inbox:     3 mails, 5.0 MiB of 1.0 GiB\n"},
		{3, 950 << 20, 1 << 30, false, "  inbox:     3 mails, 950.0 MiB of 1.0 GiB: nearly full (pop3.max_mailbox_bytes)\n"},
		{3, 1 << 30, 1 << 30, true, "  inbox:     3 mails, 1.0 GiB of 1.0 GiB: FULL, so mail for you waits with its senders until you delete some (pop3.max_mailbox_bytes)\n"},
	} {
		var st nodeStatus
		st.Inbox.Mails, st.Inbox.Bytes, st.Inbox.Quota, st.Inbox.Full = tc.mails, tc.bytes, tc.quota, tc.full
		var b strings.Builder
		writeStatus(&b, &st)
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("status of %+v lacks %q:\n%s", st.Inbox, tc.want, b.String())
		}
	}
}
