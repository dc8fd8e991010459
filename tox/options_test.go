package tox

import (
	"errors"
	"strings"
	"testing"
)

func TestOptionDefaults(t *testing.T) {
	d := DefaultOptions()
	if !d.UDP || !d.IPv6 || d.LocalDiscovery || !d.HolePunching || !d.DHTAnnouncements || d.TCPPort != 0 ||
		d.Proxy != ProxyNone {
		t.Errorf("DefaultOptions: got %+v", d)
	}
	l := LoopbackOptions()
	if !l.UDP || l.IPv6 || l.LocalDiscovery || l.HolePunching || l.DHTAnnouncements || l.TCPPort != 0 {
		t.Errorf("LoopbackOptions: got %+v", l)
	}
	for _, o := range []Options{d, l} {
		if err := o.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", o, err)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	socks := func(f func(*Options)) Options {
		o := LoopbackOptions()
		o.UDP = false
		o.Proxy, o.ProxyHost, o.ProxyPort = ProxySOCKS5, "127.0.0.1", 9050
		f(&o)
		return o
	}
	if o := socks(func(*Options) {}); o.Validate() != nil {
		t.Fatalf("a valid SOCKS5 setup: %v", o.Validate())
	}
	encrypted, err := Encrypt([]byte("not really a save"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		o    Options
		want error
		text string
	}{
		{"proxy with UDP", socks(func(o *Options) { o.UDP = true }), ErrInvalid, "UDP off"},
		{"proxy without host", socks(func(o *Options) { o.ProxyHost = "" }), ErrInvalid, "ProxyHost"},
		{"proxy host too long", socks(func(o *Options) { o.ProxyHost = strings.Repeat("h", 255) }), ErrInvalid, "ProxyHost"},
		{"proxy host NUL", socks(func(o *Options) { o.ProxyHost = "a\x00b" }), ErrInvalid, "ProxyHost"},
		{"proxy without port", socks(func(o *Options) { o.ProxyPort = 0 }), ErrInvalid, "ProxyPort"},
		{"bad proxy type", socks(func(o *Options) { o.Proxy = 9 }), ErrInvalid, "Proxy 9"},
		{"host without proxy", socks(func(o *Options) { o.Proxy = ProxyNone }), ErrInvalid, "Proxy is none"},
		{"encrypted savedata", Options{Savedata: encrypted}, ErrEncrypted, "LoadProfile"},
	} {
		err := c.o.Validate()
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: got %v, want %v mentioning %q", c.name, err, c.want, c.text)
		}
		if _, err := New(c.o); !errors.Is(err, c.want) {
			t.Errorf("%s: New: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestNewBadSavedata(t *testing.T) {
	o := LoopbackOptions()
	o.Savedata = []byte("this is not a tox save at all, just some bytes")
	if x, err := New(o); !errors.Is(err, ErrBadFormat) {
		if x != nil {
			x.Close()
		}
		t.Fatalf("got %v, want ErrBadFormat", err)
	}
}
