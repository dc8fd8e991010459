package charset

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestToUTF8(t *testing.T) {
	for _, tt := range []struct {
		name, charset string
		in            []byte
		want          string
	}{
		{"utf-8", "utf-8", []byte("Grüße"), "Grüße"},
		{"no charset is UTF-8", "", []byte("Grüße"), "Grüße"},
		{"quoted name", `"UTF-8"`, []byte("ok"), "ok"},
		{"us-ascii", "US-ASCII", []byte("plain"), "plain"},
		{"latin-1", "ISO-8859-1", []byte("Gr\xfc\xdfe aus K\xf6ln"), "Grüße aus Köln"},
		{"latin1 alias", "latin1", []byte("\xe9t\xe9"), "été"},
		// What Windows mail clients send: 0x80–0x9F are €, quotes and
		// dashes, not C1 controls.
		{"windows-1252", "windows-1252", []byte("\x93quoted\x94 \x96 5 \x80"), "“quoted” – 5 €"},
		{"cp1252", "cp1252", []byte("\x85"), "…"},
		{"iso-8859-15", "ISO-8859-15", []byte("\xa4"), "€"},
		{"koi8-r", "KOI8-R", []byte("\xf0\xd2\xc9\xd7\xc5\xd4"), "Привет"},
		{"shift_jis", "Shift_JIS", []byte("\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd"), "こんにちは"},
		{"gb2312", "gb2312", []byte("\xc4\xe3\xba\xc3"), "你好"},
		{"bad utf-8", "utf-8", []byte("a\xffb"), "a\uFFFDb"},
		{"unknown charset keeps valid UTF-8", "x-no-such", []byte("Grüße\xff"), "Grüße\uFFFD"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ToUTF8(tt.in, tt.charset)
			if got != tt.want {
				t.Errorf("ToUTF8(%q, %q) = %q, want %q", tt.in, tt.charset, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("ToUTF8(%q, %q) = %q: not UTF-8", tt.in, tt.charset, got)
			}
		})
	}
}

func TestDecodeHeader(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain subject", "plain subject"},
		{"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "Grüße"},
		{"=?iso-8859-1?q?K=F6ln?=", "Köln"},
		{"=?windows-1252?Q?=93Hi=94?=", "“Hi”"},
		{"=?KOI8-R?B?8NLJ18XU?=", "Привет"},
		{"=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは"},
		{"Re: =?utf-8?b?w6l0w6k=?= =?utf-8?b?IQ==?=", "Re: été!"},
		// A word in an unknown charset keeps its UTF-8 (here ASCII), and
		// the field's other words still decode; a malformed word stays as
		// written.
		{"=?x-no-such?Q?abc?=", "abc"},
		{"=?utf-8?Q?caf=C3=A9?= =?iso-2022-kr?Q?abc?=", "caféabc"},
		{"=?utf-8?Q?caf=C3=A9?= =?x-no-such?Q?=FFabc?=", "café�abc"},
		{"=?utf-8?B?!!!?=", "=?utf-8?B?!!!?="},
		{"=?utf-8?Q?caf=C3=A9?= =?utf-8?B?!!!?=", "café =?utf-8?B?!!!?="},
		// A raw space in a windows-1252 word labelled ISO-8859-1 (against
		// RFC 2047, but written) still reads as windows-1252.
		{"=?iso-8859-1?q?it=92s fine?=", "it’s fine"},
		// Text that only looks like the start of a word is not touched.
		{"Why does my subject show =?iso-8859-1? literally", "Why does my subject show =?iso-8859-1? literally"},
		{"Re: =?ISO-8859-1?Q? is how the header starts", "Re: =?ISO-8859-1?Q? is how the header starts"},
		{"raw \xff byte", "raw \uFFFD byte"},
	} {
		if got := DecodeHeader(tt.in); got != tt.want {
			t.Errorf("DecodeHeader(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"utf-8", "UTF8", "", "us-ascii", "iso-8859-2", "windows-1251", "euc-jp", "big5", "euc-kr", "utf-16le"} {
		if Lookup(name) == nil {
			t.Errorf("Lookup(%q) = nil", name)
		}
	}
	for _, name := range []string{"x-no-such", "utf-9", strings.Repeat("a", 300)} {
		if Lookup(name) != nil {
			t.Errorf("Lookup(%q) found an encoding", name)
		}
	}
}

// TestMailNotWeb: where the WHATWG standard chose for browsers, mail reads
// differently: ISO-2022-KR and kin keep their ASCII instead of becoming one
// U+FFFD, UTF-16 follows its byte-order mark and is big-endian without
// one, a byte-order mark is not kept, and encoded words labelled
// ISO-8859-1 read as the windows-1252 their senders meant, as bodies do.
func TestMailNotWeb(t *testing.T) {
	for _, cs := range []string{"iso-2022-kr", "hz-gb-2312", "iso-2022-cn"} {
		if got := ToUTF8([]byte("Hello, see you at 10:00.\r\n"), cs); got != "Hello, see you at 10:00.\r\n" {
			t.Errorf("ToUTF8(ASCII text, %q) = %q", cs, got)
		}
	}
	for name, in := range map[string][]byte{
		"BE with BOM": []byte("\xfe\xff\x00h\x00i"),
		"BE, no BOM":  []byte("\x00h\x00i"),
		"LE with BOM": []byte("\xff\xfeh\x00i\x00"),
	} {
		if got := ToUTF8(in, "UTF-16"); got != "hi" {
			t.Errorf("%s: ToUTF8(%q, UTF-16) = %q, want \"hi\"", name, in, got)
		}
	}
	if got := ToUTF8([]byte("\xff\xfeh\x00i\x00"), "utf-16le"); got != "hi" {
		t.Errorf("ToUTF8(UTF-16LE with BOM) = %q, want \"hi\"", got)
	}
	if got := ToUTF8([]byte("\xef\xbb\xbfhi"), "utf-8"); got != "hi" {
		t.Errorf("ToUTF8(UTF-8 with BOM) = %q, want \"hi\"", got)
	}
	body := ToUTF8([]byte("\x93Hi\x94"), "iso-8859-1")
	for _, w := range []string{"=?iso-8859-1?q?=93Hi=94?=", "=?ISO-8859-1?Q?=93Hi=94?=", "=?iso-8859-1*en?q?=93Hi=94?="} {
		if hdr := DecodeHeader(w); hdr != body || body != "“Hi”" {
			t.Errorf("DecodeHeader(%q) = %q, ToUTF8 of the same bytes = %q, want “Hi”", w, hdr, body)
		}
	}
	if got := DecodeHeader("=?utf-8?q?a=C2=85b=07c=7Fd?=\tend"); got != "a b c d\tend" {
		t.Errorf("DecodeHeader with control characters = %q, want them as spaces", got)
	}
	// A line or paragraph separator would show a plain Tox client's text
	// as if the subject went on to other header lines.
	if got := DecodeHeader("=?utf-8?q?hi=E2=80=A8From:_boss=E2=80=A9x?="); got != "hi From: boss x" {
		t.Errorf("DecodeHeader with U+2028 and U+2029 = %q, want them as spaces", got)
	}
	// An override could show a sender reversed, or reverse the text after
	// the field; the marks U+200E and U+200F and right-to-left letters stay.
	if got := DecodeHeader("=?utf-8?q?=E2=80=AEmoc.knab=E2=80=AC_=E2=81=A7x=E2=81=A9?= \u202a\u202b\u202d\u2066\u2068 \u05e9\u200f"); got != "moc.knab x  \u05e9\u200f" {
		t.Errorf("DecodeHeader with bidi controls = %q, want them dropped", got)
	}
}
