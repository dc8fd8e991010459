package daemon

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/gateway"
)

// A contacts file broken by hand is warned about once, not at every poll
// (every 2 s, 1,800 lines an hour), and its repair is said once; the book
// the node had stays in use meanwhile.
func TestBrokenContactsWarnedOnce(t *testing.T) {
	t.Parallel()
	n := newTestNode(t, "warnonce")
	n.opts.ContactsPoll = 50 * time.Millisecond
	var logs lockedBuffer
	n.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	bob := randomID(t)
	n.contacts(t, gateway.Contact{Name: "bob", ID: bob})
	n.start(t)
	path := config.ContactsPath(n.cfg)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), `name = "bob"`, `name = "bob`, 1)
	if broken == string(good) {
		t.Fatalf("the test's edit did not apply to:\n%s", good)
	}
	writeWhole(t, path, []byte(broken))
	const warning = "contacts file not reloaded"
	waitFor(t, 10*time.Second, "the broken file to be noticed", func() bool { return strings.Contains(logs.String(), warning) })
	time.Sleep(20 * n.opts.ContactsPoll) // twenty more polls
	if got := strings.Count(logs.String(), warning); got != 1 {
		t.Errorf("the same broken file was warned about %d times, want once:\n%s", got, logs.String())
	}
	if _, ok := n.d.book.Lookup("bob"); !ok {
		t.Error("the node lost bob while the file was broken")
	}
	writeWhole(t, path, good)
	waitFor(t, 10*time.Second, "the repair to be noticed", func() bool { return strings.Contains(logs.String(), "contacts file reloaded") })
	time.Sleep(5 * n.opts.ContactsPoll)
	if got := strings.Count(logs.String(), "contacts file reloaded"); got != 1 {
		t.Errorf("the repair was logged %d times, want once", got)
	}
}

// writeWhole replaces path with data by a rename, so that the node's
// polls never read it half written (which would be another error).
func writeWhole(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
