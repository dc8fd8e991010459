package gateway

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// The mailbox most tests log in to.
const (
	pop3Msg1 = "Subject: one\r\n\r\nHello\r\n"
	pop3Msg2 = "Subject: two\r\nX-A: b\r\n\r\n.dot line\r\nline 2\r\n..two dots\r\n.\r\nlast\r\n"
	pop3Msg3 = "No-Body: true\r\n" // no empty line: all header
)

// pop3Msg2Wire is pop3Msg2 dot-stuffed.
const pop3Msg2Wire = "Subject: two\r\nX-A: b\r\n\r\n..dot line\r\nline 2\r\n...two dots\r\n..\r\nlast\r\n"

// pop3Step is one command and its whole expected response.
type pop3Step struct{ send, want string }

func runPOP3Steps(t *testing.T, c *pop3Client, steps []pop3Step) {
	t.Helper()
	for _, s := range steps {
		if got := c.cmd(s.send); got != s.want {
			t.Fatalf("%s: got %q, want %q", s.send, got, s.want)
		}
	}
}

func TestPOP3Transaction(t *testing.T) {
	n1, n2, n3 := len(pop3Msg1), len(pop3Msg2), len(pop3Msg3)
	all := n1 + n2 + n3
	list := fmt.Sprintf("+OK 3 messages (%d octets)\r\n1 %d\r\n2 %d\r\n3 %d\r\n.\r\n", all, n1, n2, n3)
	noSuch := "-ERR no such message, only 3 messages in maildrop\r\n"
	tests := []struct {
		name  string
		steps []pop3Step
	}{
		{"STAT", []pop3Step{{"STAT", fmt.Sprintf("+OK 3 %d\r\n", all)}}},
		{"stat lower case", []pop3Step{{"stat", fmt.Sprintf("+OK 3 %d\r\n", all)}}},
		{"STAT argument", []pop3Step{{"STAT 1", "-ERR too many arguments to STAT\r\n"}}},
		{"LIST", []pop3Step{{"LIST", list}}},
		{"LIST n", []pop3Step{{"LIST 2", fmt.Sprintf("+OK 2 %d\r\n", n2)}, {"list 03", fmt.Sprintf("+OK 3 %d\r\n", n3)}}},
		{"LIST out of range", []pop3Step{{"LIST 0", noSuch}, {"LIST 4", noSuch}, {"LIST 99999999999999999999999", noSuch}}},
		{"LIST bad number", []pop3Step{
			{"LIST x", "-ERR invalid message number \"x\"\r\n"},
			{"LIST -1", "-ERR invalid message number \"-1\"\r\n"},
			{"LIST +1", "-ERR invalid message number \"+1\"\r\n"},
			{"LIST 1 2", "-ERR too many arguments to LIST\r\n"},
		}},
		{"UIDL", []pop3Step{
			{"UIDL", "+OK unique-id listing follows\r\n1 uid1\r\n2 uid2\r\n3 uid3\r\n.\r\n"},
			{"UIDL 2", "+OK 2 uid2\r\n"},
			{"UIDL 4", noSuch},
		}},
		{"RETR", []pop3Step{
			{"RETR 1", fmt.Sprintf("+OK %d octets\r\n%s.\r\n", n1, pop3Msg1)},
			{"RETR 2", fmt.Sprintf("+OK %d octets\r\n%s.\r\n", n2, pop3Msg2Wire)},
			{"RETR 3", fmt.Sprintf("+OK %d octets\r\n%s.\r\n", n3, pop3Msg3)},
		}},
		{"RETR errors", []pop3Step{
			{"RETR", "-ERR RETR needs a message number\r\n"},
			{"RETR 0", noSuch},
			{"RETR 1 1", "-ERR too many arguments to RETR\r\n"},
			{"RETR " + strings.Repeat("1", 200), noSuch},
		}},
		{"TOP", []pop3Step{
			{"TOP 2 0", "+OK top of message follows\r\nSubject: two\r\nX-A: b\r\n\r\n.\r\n"},
			{"TOP 2 1", "+OK top of message follows\r\nSubject: two\r\nX-A: b\r\n\r\n..dot line\r\n.\r\n"},
			{"TOP 2 3", "+OK top of message follows\r\nSubject: two\r\nX-A: b\r\n\r\n..dot line\r\nline 2\r\n...two dots\r\n.\r\n"},
			{"TOP 2 99999999999999999999", "+OK top of message follows\r\n" + pop3Msg2Wire + ".\r\n"},
			{"TOP 3 0", "+OK top of message follows\r\n" + pop3Msg3 + ".\r\n"},
			{"TOP 1 1", "+OK top of message follows\r\n" + pop3Msg1 + ".\r\n"},
		}},
		{"TOP errors", []pop3Step{
			{"TOP 1", "-ERR TOP needs a message number and a number of lines\r\n"},
			{"TOP 1 x", "-ERR invalid number of lines \"x\"\r\n"},
			{"TOP 1 -1", "-ERR invalid number of lines \"-1\"\r\n"},
			{"TOP 4 1", noSuch},
			{"TOP 1 1 1", "-ERR too many arguments to TOP\r\n"},
		}},
		{"DELE hides", []pop3Step{
			{"DELE 2", "+OK message 2 deleted\r\n"},
			{"DELE 2", "-ERR message 2 already deleted\r\n"},
			{"STAT", fmt.Sprintf("+OK 2 %d\r\n", n1+n3)},
			{"LIST", fmt.Sprintf("+OK 2 messages (%d octets)\r\n1 %d\r\n3 %d\r\n.\r\n", n1+n3, n1, n3)},
			{"LIST 2", "-ERR message 2 already deleted\r\n"},
			{"UIDL", "+OK unique-id listing follows\r\n1 uid1\r\n3 uid3\r\n.\r\n"},
			{"UIDL 2", "-ERR message 2 already deleted\r\n"},
			{"RETR 2", "-ERR message 2 already deleted\r\n"},
			{"TOP 2 0", "-ERR message 2 already deleted\r\n"},
			{"LIST 3", fmt.Sprintf("+OK 3 %d\r\n", n3)}, // numbers stay
		}},
		{"DELE then RSET", []pop3Step{
			{"DELE 1", "+OK message 1 deleted\r\n"},
			{"DELE 3", "+OK message 3 deleted\r\n"},
			{"RSET", fmt.Sprintf("+OK maildrop has 3 messages (%d octets)\r\n", all)},
			{"LIST", list},
			{"RETR 1", fmt.Sprintf("+OK %d octets\r\n%s.\r\n", n1, pop3Msg1)},
		}},
		{"DELE errors", []pop3Step{{"DELE", "-ERR DELE needs a message number\r\n"}, {"DELE 9", noSuch}}},
		{"NOOP", []pop3Step{{"NOOP", "+OK\r\n"}, {"NOOP x", "-ERR too many arguments to NOOP\r\n"}}},
		// RFC 2449 §5: USER and SASL are listed after login too.
		{"CAPA", []pop3Step{{"CAPA", "+OK capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nUSER\r\nSASL PLAIN\r\nIMPLEMENTATION toxmail\r\n.\r\n"}}},
		{"wrong state", []pop3Step{
			{"USER a", "-ERR USER not valid after login\r\n"},
			{"PASS a", "-ERR PASS not valid after login\r\n"},
			{"AUTH PLAIN", "-ERR AUTH not valid after login\r\n"},
		}},
		{"unknown", []pop3Step{
			{"FOO", "-ERR unknown command \"FOO\"\r\n"},
			{"APOP a b", "-ERR APOP not supported, use USER and PASS\r\n"},
			{"ST\xffAT", "-ERR unknown command \"ST\\xffAT\"\r\n"},
			{"STAT\x00", "-ERR invalid character '\\x00' in command\r\n"},
			{"", "-ERR empty command\r\n"},
			{" STAT", "-ERR command starts with a space\r\n"},
		}},
		{"QUIT", []pop3Step{{"QUIT", "+OK signing off (3 messages left)\r\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := newPOP3TestAuth()
			auth.set("alice", "secret", newPOP3MemMaildrop(pop3Msg1, pop3Msg2, pop3Msg3))
			_, addr := startPOP3(t, pop3TestConfig(), auth)
			c := dialPOP3(t, addr)
			defer c.close()
			c.login("alice", "secret")
			runPOP3Steps(t, c, tt.steps)
		})
	}
}

func TestPOP3Authorization(t *testing.T) {
	plain := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	ready := fmt.Sprintf("+OK maildrop locked and ready, 1 message (%d octets)\r\n", len(pop3Msg1))
	bad := "-ERR [AUTH] invalid user name or password\r\n"
	tests := []struct {
		name  string
		steps []pop3Step
	}{
		{"USER PASS", []pop3Step{{"USER alice", "+OK send your password\r\n"}, {"PASS secret", ready}, {"STAT", fmt.Sprintf("+OK 1 %d\r\n", len(pop3Msg1))}}},
		{"long user name", []pop3Step{{"USER " + strings.Repeat("u", 200) + "@example.org", "+OK send your password\r\n"}, {"PASS x", bad}}},
		{"user pass lower case", []pop3Step{{"user alice", "+OK send your password\r\n"}, {"pass secret", ready}}},
		{"password with spaces", []pop3Step{{"USER bob", "+OK send your password\r\n"}, {"PASS  two  words ", "+OK maildrop locked and ready, 0 messages (0 octets)\r\n"}}},
		{"wrong password", []pop3Step{{"USER alice", "+OK send your password\r\n"}, {"PASS wrong", bad}, {"STAT", "-ERR STAT not valid before login\r\n"}}},
		{"unknown user", []pop3Step{{"USER mallory", "+OK send your password\r\n"}, {"PASS secret", bad}}},
		{"PASS first", []pop3Step{{"PASS secret", "-ERR send USER first\r\n"}}},
		{"PASS twice", []pop3Step{{"USER alice", "+OK send your password\r\n"}, {"PASS wrong", bad}, {"PASS secret", "-ERR send USER first\r\n"}}},
		{"missing arguments", []pop3Step{{"USER", "-ERR USER needs a user name\r\n"}, {"PASS", "-ERR PASS needs a password\r\n"}, {"USER a b", "-ERR too many arguments to USER\r\n"}}},
		{"before login", []pop3Step{
			{"STAT", "-ERR STAT not valid before login\r\n"},
			{"LIST", "-ERR LIST not valid before login\r\n"},
			{"RETR 1", "-ERR RETR not valid before login\r\n"},
			{"DELE 1", "-ERR DELE not valid before login\r\n"},
			{"NOOP", "-ERR NOOP not valid before login\r\n"},
			{"RSET", "-ERR RSET not valid before login\r\n"},
		}},
		{"CAPA", []pop3Step{{"CAPA", "+OK capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nUSER\r\nSASL PLAIN\r\nIMPLEMENTATION toxmail\r\n.\r\n"}}},
		{"AUTH list", []pop3Step{{"AUTH", "+OK\r\nPLAIN\r\n.\r\n"}}},
		{"AUTH PLAIN initial", []pop3Step{{"AUTH PLAIN " + plain("\x00alice\x00secret"), ready}}},
		{"AUTH PLAIN authzid", []pop3Step{{"auth plain " + plain("alice\x00alice\x00secret"), ready}}},
		{"AUTH PLAIN other authzid", []pop3Step{{"AUTH PLAIN " + plain("bob\x00alice\x00secret"), bad}}},
		{"AUTH PLAIN continued", []pop3Step{{"AUTH PLAIN", "+ \r\n"}, {plain("\x00alice\x00secret"), ready}}},
		{"AUTH PLAIN wrong", []pop3Step{{"AUTH PLAIN", "+ \r\n"}, {plain("\x00alice\x00nope"), bad}}},
		{"AUTH PLAIN cancel", []pop3Step{{"AUTH PLAIN", "+ \r\n"}, {"*", "-ERR authentication cancelled\r\n"}, {"STAT", "-ERR STAT not valid before login\r\n"}}},
		{"AUTH PLAIN garbage", []pop3Step{
			{"AUTH PLAIN !!!", "-ERR invalid base64 in AUTH response\r\n"},
			{"AUTH PLAIN " + plain("alice"), "-ERR malformed PLAIN response\r\n"},
		}},
		{"AUTH other", []pop3Step{{"AUTH CRAM-MD5", "-ERR unsupported authentication mechanism \"CRAM-MD5\"\r\n"}}},
		// RFC 5034 §4: an initial response that would take the command
		// past 255 octets comes on a continuation line, which may be longer.
		{"AUTH PLAIN continued, longest name", []pop3Step{{"AUTH PLAIN", "+ \r\n"},
			{plain(longName + "\x00" + longName + "\x00" + longPass), "+OK maildrop locked and ready, 0 messages (0 octets)\r\n"}}},
		{"AUTH PLAIN continued, too long", []pop3Step{{"AUTH PLAIN", "+ \r\n"}, {strings.Repeat("A", 1100), "-ERR line too long\r\n"}}},
		{"USER, longest name", []pop3Step{{"USER " + longName, "+OK send your password\r\n"}, {"PASS " + longPass, "+OK maildrop locked and ready, 0 messages (0 octets)\r\n"}}},
		{"QUIT", []pop3Step{{"QUIT", "+OK signing off\r\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := newPOP3TestAuth()
			auth.set("alice", "secret", newPOP3MemMaildrop(pop3Msg1))
			auth.set("bob", " two  words ", newPOP3MemMaildrop())
			auth.set(longName, longPass, newPOP3MemMaildrop())
			_, addr := startPOP3(t, pop3TestConfig(), auth)
			c := dialPOP3(t, addr)
			defer c.close()
			runPOP3Steps(t, c, tt.steps)
		})
	}
}

// longName and longPass are the longest user name the config takes
// (config.MaxUserName) and the longest password bcrypt checks.
var longName, longPass = strings.Repeat("n", 128), strings.Repeat("p", 72)

func TestPOP3Greeting(t *testing.T) {
	cfg := pop3TestConfig()
	cfg.Greeting = "hello there"
	cfg.Implementation = "toxmail-test 1.0"
	_, addr := startPOP3(t, cfg, newPOP3TestAuth())
	c := dialPOP3Raw(t, addr)
	defer c.close()
	if got, want := c.line(), "+OK hello there\r\n"; got != want {
		t.Fatalf("greeting: got %q, want %q", got, want)
	}
	if got := c.cmd("CAPA"); !strings.Contains(got, "\r\nIMPLEMENTATION toxmail-test 1.0\r\n") {
		t.Fatalf("CAPA: got %q, want IMPLEMENTATION toxmail-test 1.0", got)
	}
	c.expect("QUIT", "+OK signing off\r\n")
	c.expectClosed()
}

// TestPOP3QuitCommits: deletions happen at QUIT, and only then.
func TestPOP3QuitCommits(t *testing.T) {
	md := newPOP3MemMaildrop(pop3Msg1, pop3Msg2, pop3Msg3)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	_, addr := startPOP3(t, pop3TestConfig(), auth)

	c := dialPOP3(t, addr)
	c.login("alice", "secret")
	c.expect("DELE 1", "+OK message 1 deleted\r\n")
	c.expect("DELE 3", "+OK message 3 deleted\r\n")
	if got := md.messages(); len(got) != 3 {
		t.Fatalf("before QUIT the maildrop has %d messages, want 3", len(got))
	}
	c.expect("QUIT", "+OK signing off (1 message left)\r\n")
	c.expectClosed()
	c.close()
	if got, want := md.messages(), []string{pop3Msg2}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after QUIT: got %q, want %q", got, want)
	}

	// The next session numbers what is left from 1.
	c = dialPOP3(t, addr)
	defer c.close()
	c.login("alice", "secret")
	c.expect("UIDL", "+OK unique-id listing follows\r\n1 uid2\r\n.\r\n")
	c.expect("DELE 1", "+OK message 1 deleted\r\n")
	c.expect("QUIT", "+OK signing off (maildrop empty)\r\n")
	if got := md.messages(); len(got) != 0 {
		t.Fatalf("after the second QUIT: %q, want none", got)
	}
}

// TestPOP3DisconnectKeeps: a session that ends without QUIT deletes
// nothing.
func TestPOP3DisconnectKeeps(t *testing.T) {
	md := newPOP3MemMaildrop(pop3Msg1, pop3Msg2)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	_, addr := startPOP3(t, pop3TestConfig(), auth)

	c := dialPOP3(t, addr)
	c.login("alice", "secret")
	c.expect("DELE 1", "+OK message 1 deleted\r\n")
	c.expect("DELE 2", "+OK message 2 deleted\r\n")
	c.close()
	// The lock goes when the server notices; then nothing was deleted.
	waitPOP3(t, "the maildrop lock to go", func() bool { return tryPOP3Login(t, addr, "alice", "secret") })
	if got := md.messages(); len(got) != 2 || md.deletes != 0 {
		t.Fatalf("after a disconnect: %d messages, %d deletes; want 2, 0", len(got), md.deletes)
	}
}

func TestPOP3DeleteFails(t *testing.T) {
	md := newPOP3MemMaildrop(pop3Msg1, pop3Msg2)
	md.failDelete = true
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	_, addr := startPOP3(t, pop3TestConfig(), auth)
	c := dialPOP3(t, addr)
	defer c.close()
	c.login("alice", "secret")
	c.expect("DELE 1", "+OK message 1 deleted\r\n")
	c.expect("QUIT", "-ERR some deleted messages not removed\r\n")
	c.expectClosed()
	if got := md.messages(); len(got) != 2 {
		t.Fatalf("%d messages, want 2", len(got))
	}
}

// TestPOP3MaildropErrors: failures of the authenticator and the maildrop
// are system errors, not wrong passwords.
func TestPOP3MaildropErrors(t *testing.T) {
	md := newPOP3MemMaildrop(pop3Msg1)
	md.failList = true
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	_, addr := startPOP3(t, pop3TestConfig(), auth)
	c := dialPOP3(t, addr)
	defer c.close()
	c.expect("USER alice", "+OK send your password\r\n")
	c.expect("PASS secret", "-ERR [SYS/TEMP] cannot open maildrop\r\n")

	auth.mu.Lock()
	auth.fail = fmt.Errorf("password database unreachable")
	auth.mu.Unlock()
	c.expect("USER alice", "+OK send your password\r\n")
	c.expect("PASS secret", "-ERR [SYS/TEMP] cannot check credentials now, try again later\r\n")

	auth.mu.Lock()
	auth.fail = nil
	auth.mu.Unlock()
	md.mu.Lock()
	md.failList = false
	md.mu.Unlock()
	c.login("alice", "secret")
	md.mu.Lock()
	delete(md.data, "uid1") // gone behind the session's back
	md.mu.Unlock()
	c.expect("RETR 1", "-ERR [SYS/TEMP] cannot read message 1\r\n")
	c.expect("NOOP", "+OK\r\n")
}
