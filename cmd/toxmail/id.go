package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/toxmail/toxmail/tox"
)

func runID(c *cli, args []string) error {
	f := c.flags("id", "toxmail id --config FILE", `
Prints the node's Tox ID: 76 upper-case hex digits (public key, nospam and
checksum), what friends add and what mail to <ID>@tox is sealed to. It reads
the Tox profile without touching the network, so it works while the node
runs.`)
	cfgFlag := f.configFlag()
	cfg, err := c.parseConfig(f, args, cfgFlag)
	if err != nil {
		return err
	}
	save, err := tox.LoadProfile(cfg.ProfilePath(), c.passphrase())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return failf("no Tox profile at %s; create a node with `toxmail init --dir DIR`, or fix data_dir or tox.profile in %s",
				cfg.ProfilePath(), cfg.Path)
		}
		if ferr := profileError(err, cfg); ferr != nil {
			return ferr
		}
		return fail(err, "")
	}
	defer clear(save)
	x, err := tox.New(tox.Options{Savedata: save}) // UDP off: binds nothing
	if err != nil {
		if ferr := profileError(err, cfg); ferr != nil {
			return ferr
		}
		return fail(err, "the profile "+cfg.ProfilePath()+" could not be opened")
	}
	addr := x.Address()
	x.Close()
	fmt.Fprintln(c.stdout, addr.String())
	return nil
}
