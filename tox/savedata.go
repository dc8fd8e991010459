package tox

/*
#include "bridge.h"
*/
import "C"

import (
	"encoding/binary"
	"runtime/cgo"
)

// Savedata layout (libtoxcore's state format): a zero word and the cookie
// 0x15ed1b1f, then sections of [length u32][type u16][cookie 0x01ce u16]
// and length bytes, the last of type END. All little-endian.
const (
	saveCookie    = 0x15ed1b1f
	sectionCookie = 0x01ce
	sectionEnd    = 255
)

// checkSavedata refuses a plain save that libtoxcore would load only in
// part. libtoxcore stops without complaint at a section boundary, so a
// profile cut there (a partial copy or restore) would start the node with
// its keys and without its friends, and the next save would make the loss
// permanent. A save must run from its header through its END section.
func checkSavedata(save []byte) error {
	const op = "savedata"
	if len(save) < 8 || binary.LittleEndian.Uint32(save) != 0 || binary.LittleEndian.Uint32(save[4:]) != saveCookie {
		return rejectf(op, ErrBadFormat, "not a Tox save (no Tox header)")
	}
	for off := 8; ; {
		if off+8 > len(save) {
			return rejectf(op, ErrBadFormat, "the save is cut short after %d bytes: it ends before its END section", len(save))
		}
		// Compared as 64 bits: on a 32-bit build a length past 2³¹ would
		// turn negative as an int and walk backwards for ever.
		n := uint64(binary.LittleEndian.Uint32(save[off:]))
		head := binary.LittleEndian.Uint32(save[off+4:])
		if head>>16 != sectionCookie {
			return rejectf(op, ErrBadFormat, "damaged save: no section at byte %d", off)
		}
		if head&0xffff == sectionEnd {
			return nil
		}
		if n > uint64(len(save)-off-8) {
			return rejectf(op, ErrBadFormat, "the save is cut short: its section at byte %d runs past the end", off)
		}
		off += 8 + int(n)
	}
}

// ProfileAddress returns the Tox ID of a save (Options.Savedata) without
// running the instance: libtoxcore is created with UDP off and freed again
// without one tox_iterate. It is what reading an ID offline needs: the TCP
// relays and DHT nodes a save lists are contacted only by tox_iterate, and
// New's goroutine would reach them directly, bypassing the proxy the node
// is configured with.
func ProfileAddress(save []byte) (Address, error) {
	o := Options{Savedata: save}
	if err := o.Validate(); err != nil {
		return Address{}, err
	}
	t := &Tox{}
	t.handle = cgo.NewHandle(t)
	defer t.handle.Delete()
	ptr, err := t.newC(&o)
	if err != nil {
		return Address{}, err
	}
	t.core.ptr = ptr
	a := t.core.Address()
	C.tox_kill(ptr)
	return a, nil
}
