package tox

/*
#include "bridge.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/toxmail/toxmail/internal/shellquote"
)

// A profile file holds a Tox save (tox_get_savedata): the long-term secret
// key, nospam, name, friend list and known DHT nodes. With a passphrase it
// is encrypted by libtoxcore's toxencryptsave (scrypt key derivation and
// NaCl secretbox, the format qTox and toxic use, magic "toxEsave").
// Profiles are written atomically with mode 0600, and LoadProfile refuses
// files that group or others can access.

// EncryptionOverhead is how many bytes encryption adds to a profile.
const EncryptionOverhead = 80

// maxProfileSize bounds what LoadProfile reads. A save with thousands of
// friends is a few megabytes.
const maxProfileSize = 64 << 20

// IsEncrypted reports whether data is a toxencryptsave-encrypted profile.
func IsEncrypted(data []byte) bool {
	if len(data) < EncryptionOverhead {
		return false
	}
	return bool(C.tox_is_data_encrypted(bytesPtr(data)))
}

// Encrypt encrypts savedata with a passphrase (toxencryptsave). It is
// slow on purpose: the key derivation is scrypt.
func Encrypt(savedata, passphrase []byte) ([]byte, error) {
	const op = opPassEncrypt
	if len(savedata) == 0 {
		return nil, rejectf(op, ErrNoMessage, "nothing to encrypt")
	}
	if len(passphrase) == 0 {
		return nil, invalidf(op, "empty passphrase")
	}
	out := make([]byte, len(savedata)+EncryptionOverhead)
	var e C.Tox_Err_Encryption
	C.tox_pass_encrypt(bytesPtr(savedata), C.size_t(len(savedata)), bytesPtr(passphrase), C.size_t(len(passphrase)),
		bytesPtr(out), &e)
	if err := toxError(op, int(e)); err != nil {
		return nil, err
	}
	return out, nil
}

// Decrypt decrypts an encrypted profile. A wrong passphrase, like an
// altered file, gives ErrWrongPassphrase.
func Decrypt(data, passphrase []byte) ([]byte, error) {
	const op = opPassDecrypt
	if !IsEncrypted(data) {
		return nil, rejectf(op, ErrBadFormat, "not an encrypted profile")
	}
	if len(passphrase) == 0 {
		return nil, rejectf(op, ErrPassphraseRequired, "the profile is encrypted: a passphrase is needed")
	}
	out := make([]byte, len(data)-EncryptionOverhead)
	var e C.Tox_Err_Decryption
	C.tox_pass_decrypt(bytesPtr(data), C.size_t(len(data)), bytesPtr(passphrase), C.size_t(len(passphrase)),
		bytesPtr(out), &e)
	if err := toxError(op, int(e)); err != nil {
		return nil, err
	}
	return out, nil
}

// SaveProfile writes savedata to path, encrypted when passphrase is not
// empty. The write is atomic: a temporary file in the same directory
// (mode 0600) is written, synced and renamed over path, and the directory
// is synced, so a crash leaves either the old profile or the new one.
func SaveProfile(path string, savedata, passphrase []byte) error {
	const op = "save_profile"
	if len(savedata) == 0 {
		return invalidf(op, "%s: empty savedata", path)
	}
	data := savedata
	if len(passphrase) > 0 {
		if IsEncrypted(savedata) {
			return invalidf(op, "%s: savedata is already encrypted", path)
		}
		var err error
		if data, err = Encrypt(savedata, passphrase); err != nil {
			return err
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("tox: save profile: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("tox: save profile: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("tox: save profile: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("tox: save profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tox: save profile: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tox: save profile: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		_ = d.Close()
		if err != nil {
			return fmt.Errorf("tox: save profile: sync %s: %w", dir, err)
		}
	}
	return nil
}

// RemoveProfileTemps removes the temporary files that a SaveProfile cut
// short by a crash or a kill left beside path (".NAME.tmp-*", mode 0600):
// each is a copy of the profile, secret key included, that nothing would
// ever remove. Call it only where no SaveProfile of path can be running
// (holding the profile's lock). It returns the names it removed.
func RemoveProfileTemps(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("tox: profile temporaries: %w", err)
	}
	prefix := "." + base + ".tmp-"
	var removed []string
	for _, e := range entries {
		if len(e.Name()) <= len(prefix) || e.Name()[:len(prefix)] != prefix || !e.Type().IsRegular() {
			continue
		}
		n := filepath.Join(dir, e.Name())
		if err := os.Remove(n); err != nil {
			return removed, fmt.Errorf("tox: removing a profile temporary: %w", err)
		}
		removed = append(removed, n)
	}
	return removed, nil
}

// LoadProfile reads a profile written by SaveProfile (or by another Tox
// client) and returns the savedata for Options.Savedata. An encrypted
// profile needs its passphrase (ErrPassphraseRequired,
// ErrWrongPassphrase); a passphrase given for a plain profile is ignored,
// so a profile can be encrypted by saving it again with one. A file that
// group or others can read or write is refused with ErrInsecureProfile. A
// missing file gives an error matching fs.ErrNotExist.
func LoadProfile(path string, passphrase []byte) ([]byte, error) {
	const op = "load_profile"
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	// writer before the check below could refuse it. Reads of a regular
	// file ignore the flag.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("tox: load profile: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tox: load profile: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, invalidf(op, "%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, rejectf(op, ErrInsecureProfile,
			"%s has mode %04o: it holds the secret key, so only its owner may access it; run chmod 600 %s",
			path, perm, shellquote.Quote(path))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxProfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("tox: load profile: %w", err)
	}
	switch {
	case len(data) == 0:
		return nil, rejectf(op, ErrBadFormat, "%s is empty", path)
	case len(data) > maxProfileSize:
		return nil, rejectf(op, ErrBadFormat, "%s is larger than %d bytes", path, maxProfileSize)
	}
	if !IsEncrypted(data) {
		return data, nil
	}
	if len(passphrase) == 0 {
		return nil, rejectf(op, ErrPassphraseRequired, "%s is encrypted: a passphrase is needed", path)
	}
	plain, err := Decrypt(data, passphrase)
	if errors.Is(err, ErrWrongPassphrase) {
		return nil, rejectf(op, ErrWrongPassphrase, "%s: wrong passphrase, or the file was altered", path)
	}
	if err != nil {
		return nil, err
	}
	return plain, nil
}
