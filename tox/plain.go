package tox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/toxmail/toxmail/internal/charset"
)

// Plain Tox clients (qTox, uTox, toxic) only see text messages. Mail to
// such a friend goes out as text: a "From:" and a "Subject:" line, a blank
// line and the body, split into messages of at most MaxMessageLength bytes.
// Their text messages come back as mail (MailFromText).

// maxTextQueue bounds the text kept for one friend: waiting to be sent,
// or sent and not yet confirmed.
const maxTextQueue = 1 << 20

// ErrTextQueueFull means too much text is already waiting for the friend.
var ErrTextQueueFull = errors.New("tox: text queue for friend is full")

// SendText queues text for a friend as one or more Tox text messages. It
// is sent when the friend is online, in order, and kept until the
// friend's Tox instance confirms it (its read receipt): a text whose
// connection dies first is sent again on the next one, so it may arrive
// twice but is not lost with the link. It is kept in memory only: it is
// lost if the node stops first (Close logs how many were). Invalid UTF-8
// (which libtoxcore refuses) is replaced by U+FFFD.
func (t *Transport) SendText(to PublicKey, text string) error {
	text = strings.ToValidUTF8(text, "\uFFFD")
	parts := SplitText(text, MaxMessageLength)
	t.mu.Lock()
	f := t.byKey[to]
	if f == nil {
		t.mu.Unlock()
		return fmt.Errorf("tox: %s is not a friend: %w", to.Short(), ErrFriendNotFound)
	}
	if f.textBytes+len(text) > maxTextQueue {
		t.mu.Unlock()
		return ErrTextQueueFull
	}
	f.texts = append(f.texts, parts...)
	f.textBytes += len(text)
	x := t.tox
	t.mu.Unlock()
	if x != nil {
		x.Wake()
	}
	return nil
}

// SplitText cuts s into pieces of at most max bytes, preferring to cut
// after a newline, then after a space, and never inside a UTF-8 sequence.
// Empty input gives no pieces.
func SplitText(s string, max int) []string {
	var out []string
	for len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if i := strings.LastIndexByte(s[:cut], '\n'); i >= max/2 {
			cut = i + 1
		} else if i := strings.LastIndexByte(s[:cut], ' '); i >= max/2 {
			cut = i + 1
		}
		if cut == 0 { // a single rune longer than max cannot happen for max ≥ 4
			cut = max
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// TextFromMail renders a mail for a plain Tox client: its From and Subject
// and its plain-text body (the first text/plain part of a multipart mail,
// decoded from quoted-printable or base64).
func TextFromMail(raw []byte) (string, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("tox: reading mail: %w", err)
	}
	from := charset.DecodeHeader(m.Header.Get("From"))
	subject := charset.DecodeHeader(m.Header.Get("Subject"))
	body, err := plainBody(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, 0)
	if err != nil {
		return "", err
	}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	return fmt.Sprintf("From: %s\nSubject: %s\n\n%s", from, subject, strings.TrimRight(body, "\n")), nil
}

func plainBody(ctype, cte string, r io.Reader, depth int) (string, error) {
	if ctype == "" {
		ctype = "text/plain"
	}
	media, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		media = "text/plain"
	}
	if strings.HasPrefix(media, "multipart/") && depth < 5 {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return "(no plain-text part)", nil
			}
			s, err := plainBody(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			if err == nil && s != "" {
				return s, nil
			}
		}
	}
	if media != "text/plain" {
		return "", nil
	}
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: r})
	}
	b, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return "", fmt.Errorf("tox: reading mail body: %w", err)
	}
	return charset.ToUTF8(b, params["charset"]), nil
}

// newlineStripper drops CR and LF so base64 bodies decode.
type newlineStripper struct{ r io.Reader }

func (n *newlineStripper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}

// MailFromText turns a text message from a Tox friend into a mail for the
// inbox. The From address is the friend's public key at "tox"; the first
// line (cut to 60 characters) is the subject.
func MailFromText(from PublicKey, name, to, text string, received time.Time) []byte {
	subject, _, _ := strings.Cut(text, "\n")
	if r := []rune(subject); len(r) > 60 {
		subject = string(r[:60]) + "…"
	}
	var id [12]byte
	rand.Read(id[:])
	addr := mail.Address{Name: name, Address: strings.ToLower(from.String()) + "@tox"}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", addr.String())
	if to != "" {
		fmt.Fprintf(&b, "To: %s\r\n", to)
	}
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", received.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@tox-text>\r\n", hex.EncodeToString(id[:]))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n")
	b.WriteString("X-Toxmail-Via: tox-text-message\r\n\r\n")
	var body bytes.Buffer
	w := quotedprintable.NewWriter(&body)
	w.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")))
	w.Close()
	b.Write(body.Bytes())
	if !strings.HasSuffix(body.String(), "\r\n") {
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}
