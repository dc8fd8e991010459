package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/daemon"
	"github.com/toxmail/toxmail/gateway"
)

// passwdMin is the shortest password --stdin accepts.
const passwdMin = 8

func runPasswd(c *cli, args []string) error {
	privateFiles()
	f := c.flags("passwd", "toxmail passwd [--user USER] [--add] [--stdin] [--config FILE]", `
Sets a new SMTP/POP3 password for USER (one of the [[smtp.users]] of the
config; the only one when there is one), or with --add makes USER a new
user, added at the end of the config. A node has one mailbox, that of its
Tox ID: every user is a login to it (for another device, or a program that
sends mail), and POP3 lets one session at a time hold it. The new password
is random and printed once, or read from the first line of standard input
with --stdin (8 to 72 bytes). Only its bcrypt hash is stored: the
password_hash line of USER in FILE is replaced, the rest of the file
(comments included) is kept, and the file stays mode 0600.

A running node follows the file: it takes the new password within a few
seconds, and the old one no longer works. Then give the new password to
your mail client.`)
	cfgFlag := f.configFlag()
	user := f.String("user", "", "the login `USER` whose password changes (default: the only user)")
	fromStdin := f.Bool("stdin", false, "read the new password from standard input instead of making one")
	add := f.Bool("add", false, "add --user USER as a new user instead of changing a password")
	cfg, err := c.parseConfig(f, args, cfgFlag)
	if err != nil {
		return err
	}
	var names []string
	for _, u := range cfg.SMTP.Users {
		names = append(names, u.Name)
	}
	switch {
	case *add && *user == "":
		return usagef("--add needs the new user's name; give it with --user NAME")
	case *add && slices.Contains(names, *user):
		return failf("%s is already a user in %s; drop --add to change its password", clip(*user), cfg.Path)
	case *add:
		if err := config.CheckUserName(*user); err != nil {
			return usagef("--user %s: %s; give another name", clip(*user), clean(err))
		}
	case *user == "" && len(names) == 1:
		*user = names[0]
	case *user == "" && len(names) == 0:
		return failf("%s has no [[smtp.users]]; add one with `toxmail passwd --add --user NAME`", cfg.Path)
	case *user == "":
		return usagef("%s has several users (%s); say which with --user USER", cfg.Path, strings.Join(names, ", "))
	case !slices.Contains(names, *user):
		return failf("no user %s in %s (its users: %s); give one of them to --user, or add it with --add", clip(*user), cfg.Path, strings.Join(names, ", "))
	}

	password := rand.Text()
	if *fromStdin {
		if password, err = readPassword(c.stdin); err != nil {
			return err
		}
	}
	hash, err := gateway.HashPassword(password)
	if err != nil {
		return fail(err, "")
	}
	change, what := config.SetPasswordHash, "New SMTP/POP3 password for"
	if *add {
		change, what = config.AddUser, "New SMTP/POP3 user"
	}
	if err := change(cfg.Path, *user, hash); err != nil {
		switch {
		case errors.Is(err, config.ErrNoSuchUser):
			return fail(err, "give one of them to --user")
		case errors.Is(err, config.ErrUserExists):
			return fail(err, "drop --add to change its password")
		}
		return fail(err, "check that you can write to "+cfg.Path)
	}

	w := c.stdout
	fmt.Fprintf(w, "%s %s, with its password stored as a bcrypt hash in %s\n\n", what, *user, cfg.Path)
	fmt.Fprintf(w, "  user:       %s\n", *user)
	if *fromStdin {
		fmt.Fprintf(w, "  password:   (the one read from standard input)\n")
	} else {
		fmt.Fprintf(w, "  password:   %s\n", password)
		fmt.Fprintf(w, "              shown once; it is stored only as a bcrypt hash\n")
	}
	if pid, running := daemon.Running(cfg.DataDir); running {
		fmt.Fprintf(w, "\nThe node running on %s (pid %s) takes the new password within a few seconds;\n", cfg.DataDir, pid)
		fmt.Fprintf(w, "give your mail client the new one.\n")
	} else {
		fmt.Fprintf(w, "\nGive your mail client the new password; the node takes it when it next starts.\n")
	}
	return nil
}

// readPassword reads one line from r: the password, without its line end.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		r = os.Stdin
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fail(err, "pipe the password in, e.g. toxmail passwd --stdin < file")
	}
	pw := strings.TrimRight(line, "\r\n")
	switch {
	case pw == "":
		return "", usagef("--stdin read no password; pipe one line in, e.g. toxmail passwd --stdin < file")
	case len(pw) < passwdMin:
		return "", usagef("the password from --stdin has %d bytes; give at least %d", len(pw), passwdMin)
	case len(pw) > 72:
		return "", usagef("the password from --stdin has %d bytes; bcrypt uses at most 72", len(pw))
	case strings.TrimSpace(pw) != pw:
		return "", usagef("the password from --stdin starts or ends with white space, which mail clients often drop; leave it out")
	case !utf8.ValidString(pw):
		return "", usagef("the password from --stdin is not UTF-8 text; give it as UTF-8")
	case strings.IndexFunc(pw, unicode.IsControl) >= 0:
		// POP3's PASS line cannot carry them (RFC 1939 §3: printable
		// ASCII arguments), nor can most clients' password fields.
		return "", usagef("the password from --stdin holds a control character (a tab, CR or the like), which POP3 cannot send; leave it out")
	}
	return pw, nil
}
