package daemon

import (
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/toxmail/toxmail/config"
)

// The SMTP/POP3 users and their password hashes come from the config file,
// and follow it while the node runs: `toxmail passwd` rewrites the file,
// and the new password works within a poll (Options.ContactsPoll) instead
// of after a restart. Other settings take effect at the next start, and
// the log says which of them changed.

// configDigest returns a digest of the config file's bytes and mode (so
// that a chmod counts as a change), or the zero digest if it cannot be read
// (a node run from a config built in memory).
func (d *Daemon) configDigest() [sha256.Size]byte {
	f, err := os.Open(d.cfg.Path)
	if err != nil {
		return [sha256.Size]byte{}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return [sha256.Size]byte{}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%o\n", fi.Mode())
	if _, err := io.Copy(h, io.LimitReader(f, 1<<20)); err != nil {
		return [sha256.Size]byte{}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// reloadUsers takes the users and password hashes of the config file if it
// changed since they were last taken. A file that does not load (a bad
// edit, a mode others may read) is logged once per change and changes
// nothing: the passwords in use stay until the file is fixed.
func (d *Daemon) reloadUsers() {
	sum := d.configDigest()
	if sum == d.cfgDigest || sum == d.cfgRefused {
		return
	}
	c, err := config.Load(d.cfg.Path)
	if err != nil {
		d.cfgRefused = sum
		d.log.Warn("the config file changed but cannot be used; the SMTP/POP3 passwords stay as they were", "err", err)
		return
	}
	d.noteRestartKeys(c)
	users := c.SMTPConfig().Users
	if !maps.Equal(users, *d.users.Load()) {
		if err := d.smtp.SetUsers(users); err != nil {
			d.cfgRefused = sum
			d.log.Warn("the config file's SMTP/POP3 users cannot be used; the passwords stay as they were", "err", err)
			return
		}
		d.users.Store(&users)
		d.log.Info("SMTP/POP3 users and passwords reloaded from the config file", "users", len(users))
	}
	d.cfgDigest, d.cfgRefused = sum, [sha256.Size]byte{}
}

// noteRestartKeys logs, once per set, the settings of the config file c
// that differ from those the node runs with: they wait for a restart.
// [sim] is the simulator's, not the node's; the users are reloaded live.
func (d *Daemon) noteRestartKeys(c *config.Config) {
	var keys []string
	for _, k := range config.ChangedKeys(d.cfg, c) {
		if k != "smtp.users" && !strings.HasPrefix(k, "sim.") {
			keys = append(keys, k)
		}
	}
	if slices.Equal(keys, d.restartKeys) {
		return
	}
	d.restartKeys = keys
	if len(keys) > 0 {
		d.log.Warn("config file settings changed; they take effect when the node restarts", "keys", strings.Join(keys, ", "))
	}
}
