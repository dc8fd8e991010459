package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/toxmail/toxmail/config"
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
	addr, err := nodeAddress(c, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, addr.String())
	return nil
}

// nodeAddress reads the node's Tox ID from its profile, without touching
// the network.
func nodeAddress(c *cli, cfg *config.Config) (tox.Address, error) {
	save, err := tox.LoadProfile(cfg.ProfilePath(), c.passphrase())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return tox.Address{}, failf("no Tox profile at %s; create a node with `toxmail init --dir DIR`, or fix data_dir or tox.profile in %s",
				cfg.ProfilePath(), cfg.Path)
		}
		if ferr := profileError(err, cfg); ferr != nil {
			return tox.Address{}, ferr
		}
		return tox.Address{}, fail(err, "")
	}
	defer clear(save)
	a, err := tox.ProfileAddress(save) // never iterates: contacts nobody
	if err != nil {
		if ferr := profileError(err, cfg); ferr != nil {
			return tox.Address{}, ferr
		}
		return tox.Address{}, fail(err, "the profile "+cfg.ProfilePath()+" could not be opened")
	}
	return a, nil
}
