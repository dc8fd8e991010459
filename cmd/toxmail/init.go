package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/daemon"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/internal/shellquote"
	"github.com/toxmail/toxmail/tox"
)

func runInit(c *cli, args []string) error {
	privateFiles()
	f := c.flags("init", "toxmail init --dir DIR [--name NAME] [--user USER]", `
Creates a new node in DIR (made with mode 0700 if it does not exist):

  - DIR/toxmail.tox, a new Tox profile (your keys), mode 0600; encrypted
    with $TOXMAIL_PASSPHRASE when that is set;
  - a random SMTP/POP3 password for USER, printed once and stored only as
    a bcrypt hash;
  - a random dashboard token;
  - DIR/toxmail.toml, mode 0600: every setting with its default and a
    comment saying what it does.

It never overwrites an existing config or profile. Nothing touches the
network: the keys are made with UDP off.`)
	dir := f.String("dir", "", "create the node in `DIR`")
	name := f.String("name", "", "`NAME`: the nickname Tox friends see (default \""+config.DefaultName+"\")")
	user := f.String("user", "", "the login `USER` of your mail client for SMTP and POP3 (default $USER, else \"me\")")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := f.positional(pos); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--dir is required; usage: %s", f.synopsis)
	}
	if err := config.CheckName(*name); err != nil {
		return usagef("--name %s: %v; give another --name", clip(*name), err)
	}
	if *user == "" {
		*user = c.getenv("USER")
	}
	if *user == "" {
		*user = "me"
	}
	if err := config.CheckUserName(*user); err != nil {
		if !f.isSet("user") {
			return usagef("the login name $USER gives, %s: %v; give one with --user", clip(*user), err)
		}
		return usagef("--user %s: %v; give another --user", clip(*user), err)
	}

	abs, err := filepath.Abs(*dir)
	if err != nil {
		return fail(err, "give --dir as a path you can write to")
	}
	cfgPath := filepath.Join(abs, config.FileName)
	for _, p := range []string{cfgPath, filepath.Join(abs, config.DefaultProfile)} {
		if _, err := os.Lstat(p); err == nil {
			return failf("%s exists; use another --dir or remove it", p)
		}
	}

	// The whole config first, so that a bad --name or --user is refused
	// before anything is written. data_dir stays ".", the folder of the
	// config file, so that the directory can be moved.
	cfg := config.Default()
	if *name != "" {
		cfg.Name = *name
	}
	password := rand.Text()
	hash, err := gateway.HashPassword(password)
	if err != nil {
		return fail(err, "")
	}
	cfg.SMTP.Users = []config.User{{Name: *user, PasswordHash: hash}}
	cfg.Dashboard.Token = config.NewToken()
	if err := cfg.Validate(); err != nil {
		return &cliError{code: exitUsage, msg: clean(err) + "; choose another --name or --user"}
	}
	cfg.DataDir = abs // for ProfilePath below; the file keeps "."

	top, err := mkdirAll(abs, 0o700)
	if err != nil {
		return fail(err, "choose a --dir you can write to")
	}
	if err := daemon.CheckDataDir(abs); err != nil {
		removeEmptyUpTo(abs, top) // a refused init leaves nothing behind
		return fail(err, "")
	}
	id, err := newProfile(cfg.ProfilePath(), c.passphrase())
	if err != nil {
		removeEmptyUpTo(abs, top)
		return err
	}
	cfg.DataDir = config.DefaultDataDir
	cfg.Path = cfgPath
	if err := config.WriteNew(cfgPath, &cfg); err != nil {
		os.Remove(filepath.Join(abs, config.DefaultProfile)) // ours: it did not exist above
		if _, serr := os.Lstat(cfgPath); serr == nil {
			return failf("%s exists; use another --dir or remove it", cfgPath)
		}
		removeEmptyUpTo(abs, top)
		return fail(err, "check that you can write to "+abs)
	}

	w := c.stdout
	encrypted := "not encrypted; set " + envPassphrase + " before `toxmail init` to encrypt it"
	if c.passphrase() != nil {
		encrypted = "encrypted with $" + envPassphrase + ", which run and id need too"
	}
	fmt.Fprintf(w, "Created a toxmail node in %s\n\n", abs)
	fmt.Fprintf(w, "  Tox ID:     %s\n", id)
	fmt.Fprintf(w, "              give it to your friends; `toxmail id --config %s` shows it again\n", shellquote.Quote(cfgPath))
	fmt.Fprintf(w, "  config:     %s (mode 0600)\n", cfgPath)
	fmt.Fprintf(w, "  profile:    %s (mode 0600, %s)\n", filepath.Join(abs, config.DefaultProfile), encrypted)
	fmt.Fprintf(w, "  SMTP:       %s (plain, password authentication)\n", cfg.SMTP.Listen)
	fmt.Fprintf(w, "  POP3:       %s (plain, password authentication)\n", cfg.POP3.Listen)
	fmt.Fprintf(w, "  user:       %s\n", *user)
	fmt.Fprintf(w, "  password:   %s\n", password)
	fmt.Fprintf(w, "              shown once; it is stored only as a bcrypt hash\n")
	fmt.Fprintf(w, "  dashboard:  http://%s/\n", cfg.Dashboard.Listen)
	fmt.Fprintf(w, "              log in with the token in the config file (dashboard.token)\n")
	fmt.Fprintf(w, "\nNext steps:\n")
	fmt.Fprintf(w, "  1. Add at least one bootstrap node to %s; toxmail ships none:\n", cfgPath)
	fmt.Fprintf(w, "       [[tox.bootstrap]]\n")
	fmt.Fprintf(w, "       host = \"tox.example.org\"\n")
	fmt.Fprintf(w, "       port = 33445\n")
	fmt.Fprintf(w, "       public_key = \"<its 64-hex DHT key>\"\n")
	fmt.Fprintf(w, "     Public nodes are listed at https://nodes.tox.chat, or run your own tox-bootstrapd.\n")
	fmt.Fprintf(w, "  2. toxmail run --config %s\n", shellquote.Quote(cfgPath))
	fmt.Fprintf(w, "  3. toxmail contacts add NAME TOXID --config %s\n", shellquote.Quote(cfgPath))
	fmt.Fprintf(w, "  4. Point your mail client at SMTP %s and POP3 %s with the user and password above.\n",
		cfg.SMTP.Listen, cfg.POP3.Listen)
	return nil
}

// newProfile makes new Tox keys (UDP off: nothing binds the network) and
// saves them to path, mode 0600, encrypted when passphrase is set. It
// returns the Tox ID.
func newProfile(path string, passphrase []byte) (tox.Address, error) {
	x, err := tox.New(tox.Options{})
	if err != nil {
		return tox.Address{}, fail(err, "is libtoxcore installed? (scripts/install-deps)")
	}
	save, err := x.Savedata()
	addr := x.Address()
	x.Close()
	if err != nil {
		return tox.Address{}, fail(err, "")
	}
	defer clear(save)
	if err := tox.SaveProfile(path, save, passphrase); err != nil {
		return tox.Address{}, fail(err, "check that you can write to "+filepath.Dir(path))
	}
	return addr, nil
}
