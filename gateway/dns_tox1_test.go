package gateway_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/toxmail/toxmail/gateway"
)

func TestParseTox1Record(t *testing.T) {
	id := vectorID
	badSum := vectorID[:75] + "3"
	tests := []struct {
		name, in string
		err      error  // nil: want vectorID
		msg      string // the error message contains this
	}{
		{name: "plain", in: "v=tox1;id=" + id},
		{name: "lower-case id", in: "v=tox1;id=" + strings.ToLower(id)},
		{name: "trailing separator", in: "v=tox1;id=" + id + ";"},
		{name: "id first", in: "id=" + id + ";v=tox1"},
		{name: "spaces", in: "  v = tox1 ;  id =  " + id + "  ; "},
		{name: "key case", in: "V=TOX1;ID=" + id},
		{name: "extra keys", in: "v=tox1;sign=abc;id=" + id + ";note=hello=world"},
		{name: "empty fields", in: ";;v=tox1;;id=" + id},
		{name: "tox2", in: "v=tox2;pub=AB;check=CD", err: gateway.ErrTox1Version, msg: "v=tox2"},
		{name: "tox0", in: "v=tox0;id=" + id, err: gateway.ErrTox1Version},
		{name: "spf", in: "v=spf1 include:example.org ~all", err: gateway.ErrNotTox1},
		{name: "no version", in: "id=" + id, err: gateway.ErrNotTox1},
		{name: "free text", in: "hello world", err: gateway.ErrNotTox1},
		{name: "empty", in: "", err: gateway.ErrNotTox1},
		{name: "missing id", in: "v=tox1", err: gateway.ErrTox1Malformed, msg: `no "id"`},
		{name: "empty id", in: "v=tox1;id=", err: gateway.ErrToxIDLength, msg: "got 0"},
		{name: "bad checksum", in: "v=tox1;id=" + badSum, err: gateway.ErrToxIDChecksum, msg: "checksum"},
		{name: "short id", in: "v=tox1;id=" + id[:70], err: gateway.ErrTox1Malformed, msg: "76 hex digits"},
		{name: "zero id", in: "v=tox1;id=" + strings.Repeat("0", 76), err: gateway.ErrTox1Malformed, msg: "zeros"},
		{name: "two ids", in: "v=tox1;id=" + id + ";id=" + id, err: gateway.ErrTox1Malformed, msg: `more than one "id"`},
		{name: "two versions", in: "v=tox1;v=tox1;id=" + id, err: gateway.ErrTox1Malformed, msg: `more than one "v"`},
		{name: "field without =", in: "v=tox1;junk;id=" + id, err: gateway.ErrTox1Malformed, msg: `"junk" has no "="`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gateway.ParseTox1Record(tt.in)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("ParseTox1Record(%q): %v", tt.in, err)
				}
				if got.String() != vectorID {
					t.Errorf("got %q, want %q", got, vectorID)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseTox1Record(%q): got error %v, want %v", tt.in, err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %q, want it to contain %q", err.Error(), tt.msg)
			}
		})
	}
}

func TestTox1FromTXT(t *testing.T) {
	a, b := resolveTestID(1), resolveTestID(2)
	rec := func(id gateway.ToxID) string { return "v=tox1;id=" + id.String() }
	tests := []struct {
		name string
		in   []string
		want gateway.ToxID
		err  error
	}{
		{name: "one", in: []string{rec(a)}, want: a},
		{name: "same id twice", in: []string{rec(a), "V=TOX1; id=" + strings.ToLower(a.String())}, want: a},
		{name: "other records skipped", in: []string{"v=spf1 -all", "site-verification=xyz", rec(a)}, want: a},
		{name: "valid beats tox2", in: []string{"v=tox2;pub=00", rec(a)}, want: a},
		{name: "valid beats malformed", in: []string{"v=tox1;id=00", rec(a)}, want: a},
		{name: "conflict", in: []string{rec(a), rec(b)}, err: gateway.ErrTox1Conflict},
		{name: "conflict after others", in: []string{rec(a), "v=spf1", rec(a), rec(b)}, err: gateway.ErrTox1Conflict},
		{name: "only tox2", in: []string{"v=spf1", "v=tox2;pub=00"}, err: gateway.ErrTox1Version},
		{name: "only malformed", in: []string{"v=tox1"}, err: gateway.ErrTox1Malformed},
		{name: "no tox record", in: []string{"v=spf1 -all"}, err: gateway.ErrNoTox1Record},
		{name: "no records", in: nil, err: gateway.ErrNoTox1Record},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gateway.Tox1FromTXT(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got error %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTox1Name(t *testing.T) {
	tests := []struct {
		local, domain string
		want          string // "" when an error is wanted
		msg           string
	}{
		{local: "alice", domain: "example.org", want: "alice._tox.example.org."},
		{local: "Alice", domain: "Example.ORG.", want: "alice._tox.example.org."},
		{local: "a+b_c-d", domain: "mail.example.org", want: "a+b_c-d._tox.mail.example.org."},
		{local: "john.doe", domain: "example.org", msg: `'.'`},
		{local: "", domain: "example.org", msg: "1 to 63"},
		{local: strings.Repeat("a", 64), domain: "example.org", msg: "1 to 63"},
		{local: "a b", domain: "example.org", msg: "' '"},
		{local: "alice", domain: "tox", msg: "no tox1 DNS records"},
		{local: "alice", domain: "", msg: "no tox1 DNS records"},
		{local: "alice", domain: "exa mple.org", msg: "not a DNS name"},
		{local: "alice", domain: "example..org", msg: "labels are 1 to 63"},
		{local: "alice", domain: ".example.org", msg: "labels are 1 to 63"},
		{local: "alice", domain: "bücher.example", msg: `'ü' (international domains go in their xn-- form)`},
		{local: "josé", domain: "example.org", msg: `has 'é', which`},
		{local: "alice", domain: strings.Repeat("a", 64) + ".org", msg: "labels are 1 to 63"},
		{local: "alice", domain: strings.Repeat(strings.Repeat("a", 60)+".", 4) + "org", msg: "longer than a DNS name"},
		// Special-use names are never looked up (RFC 6761, 7686).
		{local: "x", domain: "example.invalid", msg: "special-use name that DNS never answers"},
		{local: "x", domain: "Host.LOCALHOST.", msg: "special-use name"},
		{local: "x", domain: "localhost", msg: "special-use name"},
		{local: "x", domain: "abc.onion", msg: "special-use name"},
		{local: "x", domain: "printer.local", msg: "special-use name"},
		{local: "x", domain: "a.alt", msg: "special-use name"},
		{local: "x", domain: "invalid.example.org", want: "x._tox.invalid.example.org."},
	}
	for _, tt := range tests {
		got, err := gateway.Tox1Name(tt.local, tt.domain)
		if tt.want != "" {
			if err != nil || got != tt.want {
				t.Errorf("Tox1Name(%q, %q): got %q, %v, want %q", tt.local, tt.domain, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Tox1Name(%q, %q): got %q, %v, want an error containing %q", tt.local, tt.domain, got, err, tt.msg)
		}
	}
}

func FuzzTox1Record(f *testing.F) {
	f.Add("v=tox1;id=" + vectorID)
	f.Add(" V = TOX1 ; ID = " + strings.ToLower(vectorID) + " ;x=y")
	f.Add("v=tox2;pub=00;check=00")
	f.Add("v=tox1;;;=;==;id")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := gateway.ParseTox1Record(s)
		if err == nil && (!id.Valid() || id.IsZero()) {
			t.Fatalf("ParseTox1Record(%q) = %q, an invalid ID", s, id)
		}
		if err != nil && !errors.Is(err, gateway.ErrNotTox1) && !errors.Is(err, gateway.ErrTox1Version) &&
			!errors.Is(err, gateway.ErrTox1Malformed) {
			t.Fatalf("ParseTox1Record(%q): unclassified error %v", s, err)
		}
		// Two copies of a record agree with one.
		id2, err2 := gateway.Tox1FromTXT([]string{s, s})
		if (err == nil) != (err2 == nil) || id2 != id {
			t.Fatalf("Tox1FromTXT(two copies of %q) = %q, %v; one copy gave %q, %v", s, id2, err2, id, err)
		}
	})
}
