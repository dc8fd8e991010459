package tox

import (
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestRegressionTextFromMailLatin1: a mail in ISO-8859-1 (what many mail
// clients still send for Western text) becomes a text that is not UTF-8.
func TestRegressionTextFromMailLatin1(t *testing.T) {
	raw := "From: a@x\r\nSubject: s\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe aus K=F6ln\r\n"
	text, err := TextFromMail([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(text) {
		t.Errorf("TextFromMail returned invalid UTF-8: %q", text)
	}
}

// TestRegressionInvalidTextWedgesQueue: SendText accepts a text that is not
// UTF-8 (returns nil); the pump's SendMessage rejects it on every pump and
// it stays at the head of the friend's queue forever, so every later text
// to that friend is stuck too.
func TestRegressionInvalidTextWedgesQueue(t *testing.T) {
	t.Parallel()
	p, rec, tr := plainPair(t)
	bad, _ := TextFromMail([]byte("From: a@x\r\nSubject: s\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nGr\xfc\xdfe\r\n"))
	if err := tr.SendText(p.B.PublicKey(), bad); err != nil {
		t.Fatalf("SendText(latin-1 mail): %v", err)
	}
	if err := tr.SendText(p.B.PublicKey(), "a later, valid text"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) && rec.messageCount() == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	_, _, _, msgs, _ := rec.snapshot()
	var q int
	for _, i := range tr.Peers() {
		if i.Key == p.B.PublicKey() {
			tr.mu.Lock()
			q = len(tr.byKey[i.Key].texts)
			tr.mu.Unlock()
		}
	}
	t.Logf("B received %d messages in 8 s; %d texts still queued at A; TextsOut %d", len(msgs), q, tr.Stats().TextsOut)
	if len(msgs) < 2 {
		t.Errorf("the text queue to B is wedged by a non-UTF-8 text")
	}
}

// TestRegressionMailFromTextInjection: a friend's name and text cannot add
// headers (CR/LF in name, subject or body).
func TestRegressionMailFromTextInjection(t *testing.T) {
	var pk PublicKey
	name := "Eve\r\nBcc: victim@x\r\nX-Evil: 1"
	text := "subj\rX-Injected: 1\r\n\r\nbody\n.\nmore\r"
	raw := MailFromText(pk, name, "me@tox", text, time.Now())
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Bcc", "X-Evil", "X-Injected"} {
		if m.Header.Get(h) != "" {
			t.Errorf("header %s injected", h)
		}
	}
	t.Logf("%s", raw)
}
