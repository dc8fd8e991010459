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
		// What cannot be decoded stays as it was.
		{"=?x-no-such?Q?abc?=", "=?x-no-such?Q?abc?="},
		{"=?utf-8?B?!!!?=", "=?utf-8?B?!!!?="},
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
