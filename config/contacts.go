package config

// The address book file, data_dir/contacts.toml: one [[contact]] table per
// entry of a gateway.ContactBook.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/internal/shellquote"
)

// ContactsPath returns the address book's path: contacts.toml in the data
// directory.
func ContactsPath(c *Config) string {
	return filepath.Join(c.dataDir(), ContactsFile)
}

// contactsFile is the document go-toml decodes contacts.toml into; fields
// are any so that errors are worded here, with the key and line.
type contactsFile struct {
	Contact []struct {
		Name    any `toml:"name"`
		Address any `toml:"address"`
		ToxID   any `toml:"tox_id"`
		Source  any `toml:"source"`
		Added   any `toml:"added"`
	} `toml:"contact"`
}

// LoadContacts reads an address book written by SaveContacts (or by hand).
// A missing file is an empty book. Parsing is strict, like Parse: an
// unknown key, a bad value, or an entry gateway.NewContactBook refuses (a
// bad Tox ID checksum, a name listed twice) is an *Error with its line;
// several are joined.
func LoadContacts(path string) ([]gateway.Contact, error) {
	data, err := ReadContactsFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseContacts(data, path)
}

// ParseContacts parses the bytes of an address book read from path (by
// ReadContactsFile), as LoadContacts does: so that what is parsed is what
// was compared or checked, not a second read.
func ParseContacts(data []byte, path string) ([]gateway.Contact, error) {
	return parseContacts(data, path)
}

// ContactsCutShort reports whether raw, the bytes of a contacts file, hold
// nothing at all. The file toxmail writes always has its header, so an
// empty one was cut short (a full disk, a crash): it is to be taken as
// missing, never as "no contacts", which would end every friendship.
func ContactsCutShort(raw []byte) bool { return len(bytes.TrimSpace(raw)) == 0 }

// ReadContactsFile reads the address book's bytes. It refuses a file that
// group or others may write (ErrInsecureFile): the book decides which key
// mail to an address is sealed to. A missing file is an error that
// errors.Is fs.ErrNotExist.
func ReadContactsFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return nil, fmt.Errorf("config: %s has mode %04o: %w, but it decides which key mail to each address is sealed to; "+
			"run chmod 600 %s", path, perm, ErrInsecureFile, shellquote.Quote(path))
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return data, nil
}

func parseContacts(data []byte, path string) ([]gateway.Contact, error) {
	var f contactsFile
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&f)
	var errs []*Error
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		for i := range strict.Errors {
			line, _ := strict.Errors[i].Position()
			key := strings.Join(strict.Errors[i].Key(), ".")
			errs = append(errs, &Error{Line: line, Key: key,
				Msg: "unknown key " + key + " (want name, address, tox_id, source and added in [[contact]] tables)"})
		}
	case errors.As(err, &de):
		line, col := de.Position()
		return nil, &Error{File: path, Line: line, Column: col, Key: strings.Join(de.Key(), "."),
			Msg: "invalid TOML: " + strings.TrimPrefix(de.Error(), "toml: ")}
	case err != nil:
		return nil, &Error{File: path, Msg: err.Error()}
	}

	cs := make([]gateway.Contact, len(f.Contact))
	for i, e := range f.Contact {
		c := &cs[i]
		key := func(k string) string { return fmt.Sprintf("contact[%d].%s", i, k) }
		str := func(k string, v any, dst *string) {
			if v == nil {
				return
			}
			if s, ok := v.(string); ok {
				*dst = s
				return
			}
			errs = append(errs, &Error{Key: key(k), Msg: "want a string"})
		}
		str("name", e.Name, &c.Name)
		str("address", e.Address, &c.Address)
		var id, source string
		str("tox_id", e.ToxID, &id)
		parsed, idErr := gateway.ParseStoredToxID(strings.TrimSpace(id))
		if idErr != nil {
			errs = append(errs, &Error{Key: key("tox_id"), Msg: "want a Tox ID of 76 hex digits: " + idErr.Error()})
		}
		c.ID = parsed
		str("source", e.Source, &source)
		if e.Source != nil {
			if err := c.Source.UnmarshalText([]byte(source)); err != nil || c.Source == gateway.SourceFriend {
				errs = append(errs, &Error{Key: key("source"), Msg: `want "toxid" (typed or pasted), "dns" (from a tox1 lookup), "contacts" or "unknown"`})
			}
		}
		switch v := e.Added.(type) {
		case nil:
		case time.Time:
			c.Added = v
		case string:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				errs = append(errs, &Error{Key: key("added"), Msg: "want an RFC 3339 date and time, such as 2024-05-01T12:00:00Z"})
			}
			c.Added = t
		default:
			errs = append(errs, &Error{Key: key("added"), Msg: "want an RFC 3339 date and time with its offset, such as 2024-05-01T12:00:00Z"})
		}
	}
	if len(errs) == 0 {
		// Each entry alone, then each against those before it, so that a
		// refused entry is reported at its own line.
		book, _ := gateway.NewContactBook(nil)
		for i, c := range cs {
			if _, err := gateway.NewContactBook([]gateway.Contact{c}); err != nil {
				errs = append(errs, &Error{Key: fmt.Sprintf("contact[%d]", i), Msg: contactMsg(err)})
				continue
			}
			if _, dup := book.Lookup(c.Name); dup && strings.TrimSpace(c.Name) != "" {
				errs = append(errs, &Error{Key: fmt.Sprintf("contact[%d].name", i), Msg: fmt.Sprintf("%q is listed twice", c.Name)})
			} else if _, dup := book.Lookup(c.Address); dup && strings.TrimSpace(c.Address) != "" {
				errs = append(errs, &Error{Key: fmt.Sprintf("contact[%d].address", i), Msg: fmt.Sprintf("<%s> is listed twice", c.Address)})
			} else if err := book.Add(c); err != nil {
				errs = append(errs, &Error{Key: fmt.Sprintf("contact[%d]", i), Msg: contactMsg(err)})
			}
		}
		if len(errs) == 0 {
			if _, err := gateway.NewContactBook(cs); err != nil { // the book's own verdict
				return nil, &Error{File: path, Msg: contactMsg(err)}
			}
			return cs, nil
		}
	}
	locs := locate(data)
	for _, e := range errs {
		e.File = path
		if l, ok := locs[e.Key]; ok {
			if e.Line == 0 {
				e.Line = l.line
			}
			if strings.Contains(e.Key, "].") && e.Value == "" {
				e.Value = l.raw
			}
		} else if l, ok := locs[parentKey(e.Key)]; ok && e.Line == 0 {
			e.Line = l.line
		}
		if e.Value == "" && !strings.HasPrefix(e.Msg, "unknown ") {
			e.Msg = e.Key + ": " + e.Msg
		}
	}
	return nil, join(errs)
}

// contactMsg drops the "gateway: contact N: " prefix of the book's errors.
func contactMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "gateway: ")
	if rest, ok := strings.CutPrefix(msg, "contact "); ok {
		if _, after, ok := strings.Cut(rest, ": "); ok {
			return after
		}
	}
	return msg
}

const contactsHeader = `# toxmail address book: who you mail, and their Tox IDs.
#
# This file is managed by ` + "`toxmail contacts`" + ` and the dashboard, which rewrite
# it whole; edit it by hand only while the node is stopped. One [[contact]]
# table per entry: name (a nickname, usable as a recipient), address (a mail
# address), tox_id (76 hex digits), source ("toxid": typed or pasted; "dns":
# from an unauthenticated tox1 lookup) and added (when, RFC 3339).
`

// SaveContacts writes the address book to path atomically (a temporary
// file in the same directory, synced, then renamed over path), with mode
// 0600 and a header saying which tools manage the file.
func SaveContacts(path string, cs []gateway.Contact) error {
	var b bytes.Buffer
	b.WriteString(contactsHeader)
	for _, c := range cs {
		b.WriteString("\n[[contact]]\n")
		if c.Name != "" {
			b.WriteString("name = " + quote(c.Name) + "\n")
		}
		if c.Address != "" {
			b.WriteString("address = " + quote(c.Address) + "\n")
		}
		b.WriteString("tox_id = " + quote(c.ID.String()) + "\n")
		b.WriteString("source = " + quote(c.Source.String()) + "\n")
		if !c.Added.IsZero() {
			b.WriteString("added = " + c.Added.UTC().Format(time.RFC3339Nano) + "\n")
		}
	}
	return writeAtomic(path, b.Bytes())
}

// writeAtomic replaces path with data, mode 0600: readers see the old file
// or the new one, never a part.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("config: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("config: writing %s: %w", path, err)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return nil
}
