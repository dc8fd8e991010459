package config

// Changing a user's password hash in toxmail.toml in place, for
// `toxmail passwd`: only the hash's value changes, so the file keeps its
// comments and layout.

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// ErrNoSuchUser means the config has no [[smtp.users]] entry of that name.
var ErrNoSuchUser = errors.New("no such user")

// SetPasswordHash replaces the password_hash of the SMTP/POP3 user named
// user in the config file at path with hash, and changes nothing else in
// the file: comments, order and layout stay. The user may be a
// [[smtp.users]] table or an inline table of an smtp.users array. The new
// text is checked with Parse before it replaces the file, atomically and
// with mode 0600 (through a symbolic link, the file it points to). A user
// the file does not have is ErrNoSuchUser, with the names it has.
func SetPasswordHash(path, user, hash string) error {
	real, data, users, err := readUsers(path)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(users, func(u userEntry) bool { return u.name == user })
	if i < 0 {
		var names []string
		for _, u := range users {
			names = append(names, quote(u.name))
		}
		have := "none"
		if len(names) > 0 {
			have = strings.Join(names, ", ")
		}
		return fmt.Errorf("config: %w %q in %s (its [[smtp.users]]: %s)", ErrNoSuchUser, user, path, have)
	}
	u := users[i]
	if !u.hasHash {
		return fmt.Errorf("config: %s: user %q has no password_hash line to change; add password_hash = \"\" to its table", path, user)
	}
	var out bytes.Buffer
	out.Write(data[:u.hash.Offset])
	out.WriteString(quote(hash))
	out.Write(data[u.hash.Offset+u.hash.Length:])
	c, err := Parse(out.Bytes(), path)
	if err != nil {
		return err
	}
	if c.Users()[user] != hash {
		return fmt.Errorf("config: %s: the changed file does not give %q the new hash; edit it by hand", path, user)
	}
	return writeAtomic(real, out.Bytes())
}

// readUsers reads the config file at path (through a symbolic link, the
// file it points to: real) and its smtp.users entries as written.
func readUsers(path string) (real string, data []byte, users []userEntry, err error) {
	if real, err = filepath.EvalSymlinks(path); err != nil {
		return "", nil, nil, fmt.Errorf("config: %w", err)
	}
	if data, _, err = readFile(real); err != nil {
		return "", nil, nil, err
	}
	if users, err = findUsers(data); err != nil {
		return "", nil, nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return real, data, users, nil
}

// userEntry is one smtp.users entry as written: its name and where the
// value of its password_hash is.
type userEntry struct {
	name    string
	hash    unstable.Range
	hasHash bool
}

// findUsers lists the smtp.users entries of a config file, in order.
func findUsers(data []byte) ([]userEntry, error) {
	var p unstable.Parser
	p.Reset(data)
	var users []userEntry
	var cur *userEntry // the [[smtp.users]] table being read
	table := ""        // the current [table]
	// fromInline reads the users of an array of inline tables.
	fromInline := func(arr *unstable.Node) {
		for it := arr.Children(); it.Next(); {
			el := it.Node()
			if el.Kind != unstable.InlineTable {
				continue
			}
			var u userEntry
			for kt := el.Children(); kt.Next(); {
				readUserKey(&u, kt.Node())
			}
			users = append(users, u)
		}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			cur, table = nil, dottedKey(e)
		case unstable.ArrayTable:
			cur, table = nil, dottedKey(e)
			if table == "smtp.users" {
				users = append(users, userEntry{})
				cur = &users[len(users)-1]
			}
		case unstable.KeyValue:
			key := dottedKey(e)
			if table != "" {
				key = table + "." + key
			}
			switch {
			case cur != nil:
				readUserKey(cur, e)
			case key == "smtp.users" && e.Value().Kind == unstable.Array:
				fromInline(e.Value())
			}
		}
	}
	if err := p.Error(); err != nil {
		return nil, err
	}
	return users, nil
}

// readUserKey records kv if it is a user's name or password_hash.
func readUserKey(u *userEntry, kv *unstable.Node) {
	v := kv.Value()
	if v.Kind != unstable.String {
		return
	}
	switch dottedKey(kv) {
	case "name":
		u.name = string(v.Data)
	case "password_hash":
		u.hash, u.hasHash = v.Raw, true
	}
}

// dottedKey joins the parts of a table header's or key-value's key.
func dottedKey(n *unstable.Node) string {
	var b bytes.Buffer
	for it := n.Key(); it.Next(); {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.Write(it.Node().Data)
	}
	return b.String()
}

// ErrUserExists means the config already has a [[smtp.users]] entry of
// that name.
var ErrUserExists = errors.New("user exists")

// AddUser adds an SMTP/POP3 user named user with the bcrypt hash to the
// config file at path: a [[smtp.users]] table at the end of the file,
// which otherwise stays as it was. Like SetPasswordHash it checks the new
// text with Parse and replaces the file atomically, mode 0600. A user the
// file has already is ErrUserExists.
func AddUser(path, user, hash string) error {
	real, data, users, err := readUsers(path)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(users, func(u userEntry) bool { return u.name == user }) {
		return fmt.Errorf("config: %w: %q is already a user in %s", ErrUserExists, user, path)
	}
	var out bytes.Buffer
	out.Write(data)
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		out.WriteByte('\n')
	}
	fmt.Fprintf(&out, "\n[[smtp.users]]\nname = %s\npassword_hash = %s\n", quote(user), quote(hash))
	c, err := Parse(out.Bytes(), path)
	if err != nil {
		return fmt.Errorf("config: %s: a [[smtp.users]] table added at its end would not be read (%w); add the user by hand", path, err)
	}
	if c.Users()[user] != hash {
		return fmt.Errorf("config: %s: a [[smtp.users]] table added at its end would not give %q the hash; add the user by hand", path, user)
	}
	return writeAtomic(real, out.Bytes())
}

// CheckUserName checks the name of a new SMTP/POP3 user: 1..MaxUserName
// printable ASCII characters without spaces, as smtp.users[].name wants.
func CheckUserName(name string) error { return checkToken(name, MaxUserName) }
