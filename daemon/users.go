package daemon

import (
	"crypto/sha256"
	"maps"
	"os"

	"github.com/toxmail/toxmail/config"
)

// The SMTP/POP3 users and their password hashes come from the config file,
// and follow it while the node runs: `toxmail passwd` rewrites the file,
// and the new password works within a poll (Options.ContactsPoll) instead
// of after a restart. Other settings take effect at the next start.

// configDigest returns a digest of the config file's bytes, or the zero
// digest if it cannot be read (a node run from a config built in memory).
func (d *Daemon) configDigest() [sha256.Size]byte {
	data, err := os.ReadFile(d.cfg.Path)
	if err != nil {
		return [sha256.Size]byte{}
	}
	return sha256.Sum256(data)
}

// reloadUsers takes the users and password hashes of the config file if it
// changed since last seen. A file that no longer loads (a bad edit, a mode
// others may read) is logged once and changes nothing: the passwords in
// use stay.
func (d *Daemon) reloadUsers() {
	sum := d.configDigest()
	if sum == d.cfgDigest {
		return
	}
	d.cfgDigest = sum
	c, err := config.Load(d.cfg.Path)
	if err != nil {
		d.log.Warn("the config file changed but cannot be used; the SMTP/POP3 passwords stay as they were", "err", err)
		return
	}
	users := c.SMTPConfig().Users
	if maps.Equal(users, *d.users.Load()) {
		return
	}
	if err := d.smtp.SetUsers(users); err != nil {
		d.log.Warn("the config file's SMTP/POP3 users cannot be used; the passwords stay as they were", "err", err)
		return
	}
	d.users.Store(&users)
	d.log.Info("SMTP/POP3 users and passwords reloaded from the config file", "users", len(users))
}
