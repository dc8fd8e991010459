package tox

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"
)

// freshSave returns the save of a new instance that has one friend.
func freshSave(t *testing.T) []byte {
	t.Helper()
	x, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var friend PublicKey
	friend[0] = 9
	if err := x.Do(func(c *Core) error { _, err := c.AddFriendNoRequest(friend); return err }); err != nil {
		t.Fatal(err)
	}
	save, err := x.Savedata()
	if err != nil {
		t.Fatal(err)
	}
	return save
}

// sections returns the offsets of a save's sections, END last.
func sections(t *testing.T, save []byte) []int {
	t.Helper()
	var offs []int
	for off := 8; off+8 <= len(save); {
		offs = append(offs, off)
		if binary.LittleEndian.Uint32(save[off+4:])&0xffff == sectionEnd {
			return offs
		}
		off += 8 + int(binary.LittleEndian.Uint32(save[off:]))
	}
	t.Fatal("the save has no END section")
	return nil
}

// A save cut anywhere before its END section is refused. libtoxcore loads
// one cut at a section boundary without complaint, minus what followed
// (the friend list), and the node would then save it back that way.
func TestTruncatedSaveRefused(t *testing.T) {
	save := freshSave(t)
	offs := sections(t, save)
	end := offs[len(offs)-1] + 8
	for _, whole := range [][]byte{save, save[:end]} { // with the zeros after END, and without
		x, err := New(Options{Savedata: whole})
		if err != nil {
			t.Fatalf("the whole save (%d bytes): %v", len(whole), err)
		}
		friends, _ := x.Friends()
		x.Close()
		if len(friends) != 1 {
			t.Fatalf("the whole save loaded %d friends, want 1", len(friends))
		}
	}
	cuts := []int{0, 4, 8, 9}
	for i, off := range offs {
		cuts = append(cuts, off, off+3)
		if i < len(offs)-1 { // END's 8 bytes are the whole of it
			cuts = append(cuts, off+8)
		}
	}
	for _, n := range cuts {
		if n >= len(save) || n == 0 {
			continue
		}
		_, err := New(Options{Savedata: save[:n]})
		if !errors.Is(err, ErrBadFormat) {
			t.Errorf("save cut to %d of %d bytes: %v, want ErrBadFormat", n, len(save), err)
		}
		if _, err := ProfileAddress(save[:n]); !errors.Is(err, ErrBadFormat) {
			t.Errorf("ProfileAddress of a save cut to %d bytes: %v, want ErrBadFormat", n, err)
		}
	}
	bad := append([]byte(nil), save...)
	bad[offs[1]+6] ^= 0xff // a section cookie
	if _, err := New(Options{Savedata: bad}); !errors.Is(err, ErrBadFormat) {
		t.Errorf("a damaged section header: %v, want ErrBadFormat", err)
	}
}

// withTCPRelay returns save with a TCP_RELAY section (type 10) naming a
// relay on 127.0.0.1:port, as libtoxcore saves the relays it used.
func withTCPRelay(t *testing.T, save []byte, port uint16) []byte {
	t.Helper()
	end := sections(t, save)
	at := end[len(end)-1]
	node := []byte{130, 127, 0, 0, 1} // TCP over IPv4
	node = binary.BigEndian.AppendUint16(node, port)
	node = append(node, make([]byte, 32)...)
	node[len(node)-1] = 0x42 // the relay's key
	sec := binary.LittleEndian.AppendUint32(nil, uint32(len(node)))
	sec = binary.LittleEndian.AppendUint32(sec, sectionCookie<<16|10)
	out := append(append(append([]byte(nil), save[:at]...), sec...), node...)
	return append(out, save[at:]...)
}

// ProfileAddress reads the ID that New would, and contacts nobody: not
// even the TCP relay the save lists, which New's goroutine dials at once,
// directly, whatever proxy the node is configured with.
func TestProfileAddressContactsNobody(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dialed := make(chan string, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			dialed <- c.RemoteAddr().String()
			c.Close()
		}
	}()
	save := withTCPRelay(t, freshSave(t), uint16(l.Addr().(*net.TCPAddr).Port))
	a, err := ProfileAddress(save)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case from := <-dialed:
		t.Fatalf("ProfileAddress dialled the saved relay (from %s)", from)
	case <-time.After(2 * time.Second):
	}
	x, err := New(Options{Savedata: save})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if a != x.Address() {
		t.Errorf("ProfileAddress %s, New's instance %s", a, x.Address())
	}
	// The relay section is real: the running instance does dial it, which
	// is what ProfileAddress must not do.
	select {
	case <-dialed:
	case <-time.After(20 * time.Second):
		t.Error("the running instance never dialled the saved relay: the test's save is not what libtoxcore reads")
	}
}

// A section length past 2³¹ is refused as running past the end. On a
// 32-bit build such a length, read as an int, went negative, and the check
// walked backwards (0xfffffff8 stood still) for ever.
func TestSavedataHugeSectionLength(t *testing.T) {
	save := binary.LittleEndian.AppendUint32(nil, 0)
	save = binary.LittleEndian.AppendUint32(save, saveCookie)
	for _, n := range []uint32{0xfffffff8, 0x80000000, 0xffffffff, 64} {
		b := binary.LittleEndian.AppendUint32(append([]byte(nil), save...), n)
		b = binary.LittleEndian.AppendUint32(b, sectionCookie<<16|1) // a NOSPAMKEYS section
		b = append(b, make([]byte, 16)...)
		done := make(chan error, 1)
		go func() { done <- checkSavedata(b) }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrBadFormat) {
				t.Errorf("section length %#x: %v, want ErrBadFormat", n, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("section length %#x: checkSavedata still running after 10 s", n)
		}
	}
}
