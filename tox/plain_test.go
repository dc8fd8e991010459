package tox

import (
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSplitText(t *testing.T) {
	long := strings.Repeat("word ", 600) // 3000 bytes
	utf := strings.Repeat("ä", 1000)     // 2000 bytes of 2-byte runes
	lines := strings.Repeat("line of text\n", 200)
	for _, s := range []string{"", "short", long, utf, lines, strings.Repeat("x", 5000)} {
		parts := SplitText(s, MaxMessageLength)
		if strings.Join(parts, "") != s {
			t.Fatalf("pieces do not join back to the input (%d bytes)", len(s))
		}
		for _, p := range parts {
			if len(p) > MaxMessageLength || len(p) == 0 || !utf8.ValidString(p) {
				t.Fatalf("piece of %d bytes (valid UTF-8 %v)", len(p), utf8.ValidString(p))
			}
		}
	}
	if p := SplitText(lines, MaxMessageLength); !strings.HasSuffix(p[0], "\n") {
		t.Errorf("did not cut at a newline: %q", p[0][len(p[0])-10:])
	}
}

func TestTextFromMail(t *testing.T) {
	cases := []struct {
		name, raw, want string
	}{
		{"plain", "From: Alice <a@x>\r\nSubject: Tea\r\n\r\nAt five?\r\n", "From: Alice <a@x>\nSubject: Tea\n\nAt five?"},
		{"encoded subject", "From: a@x\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nhi\r\n", "From: a@x\nSubject: Grüße\n\nhi"},
		{"quoted-printable", "From: a@x\r\nSubject: s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe=\r\n und mehr\r\n", "From: a@x\nSubject: s\n\nGrüße und mehr"},
		{"base64", "From: a@x\r\nSubject: s\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n", "From: a@x\nSubject: s\n\nhello world"},
		{"multipart", "From: a@x\r\nSubject: s\r\nContent-Type: multipart/alternative; boundary=B\r\n\r\n--B\r\nContent-Type: text/html\r\n\r\n<b>hi</b>\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi there\r\n--B--\r\n", "From: a@x\nSubject: s\n\nhi there"},
		{"windows-1252", "From: =?windows-1252?q?Ren=E9?= <r@x>\r\nSubject: =?windows-1252?q?=93Hi=94?=\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=93Tea=94 =96 5 =80\r\n", "From: René <r@x>\nSubject: “Hi”\n\n“Tea” – 5 €"},
		{"koi8-r", "From: a@x\r\nSubject: =?KOI8-R?B?8NLJ18XU?=\r\nContent-Type: text/plain; charset=KOI8-R\r\n\r\n\xf0\xd2\xc9\xd7\xc5\xd4\r\n", "From: a@x\nSubject: Привет\n\nПривет"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := TextFromMail([]byte(c.raw))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	if _, err := TextFromMail([]byte("no headers at all")); err == nil {
		t.Error("a non-mail was accepted")
	}
}

func TestMailFromText(t *testing.T) {
	var pk PublicKey
	pk[0] = 0xAB
	text := "Hello from qTox — first line\nsecond line with a very long tail " + strings.Repeat("z", 200)
	raw := MailFromText(pk, "Carol", "me@tox", text, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	from, err := mail.ParseAddress(m.Header.Get("From"))
	if err != nil || from.Name != "Carol" || !strings.HasPrefix(from.Address, "ab00") || !strings.HasSuffix(from.Address, "@tox") {
		t.Fatalf("From %q (%v)", m.Header.Get("From"), err)
	}
	back, err := TextFromMail(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(back, text) {
		t.Fatalf("body did not survive the round trip: %q", back)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line of %d bytes", len(line))
		}
	}
}
