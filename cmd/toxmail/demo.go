package main

import (
	"context"
	"errors"
	"strings"

	"github.com/toxmail/toxmail/demo"
)

func runDemo(c *cli, args []string) error {
	privateFiles()
	f := c.flags("demo", "toxmail demo [--json] [--hold] [--bootstrap HOST:PORT:PUBKEY]", `
Starts three real nodes on 127.0.0.1 (real libtoxcore, LAN discovery and
IPv6 off, each with its own SMTP and POP3 server) and plays the story
toxmail exists for: carol, a friend of bob only, is offline while alice
mails her; bob holds the sealed envelope; alice goes offline; carol comes
online and gets the mail through bob; alice comes back and sees it
delivered. It exits 0 only if all of that happened. Ctrl-C stops it.`)
	asJSON := f.Bool("json", false, "print one JSON object at the end instead of the timeline")
	hold := f.Bool("hold", false, "start the three nodes, print how to reach each one (JSON) and keep them up until Ctrl-C")
	bootstrap := f.String("bootstrap", "", "join every node through this DHT node (`HOST:PORT:PUBKEY`, e.g. a tox-bootstrapd on loopback)\ninstead of through each other")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := f.positional(pos); err != nil {
		return err
	}
	err = demo.Run(c.ctx, demo.Options{
		JSON:      *asJSON,
		Hold:      *hold,
		Bootstrap: *bootstrap,
		Stdout:    c.stdout,
		Stderr:    c.stderr,
	})
	switch {
	case err == nil:
		return nil
	case c.ctx.Err() != nil && errors.Is(err, context.Canceled):
		return failf("interrupted")
	case strings.HasPrefix(err.Error(), "--bootstrap"):
		msg := clean(err)
		if !strings.Contains(msg, ";") {
			msg += "; see `toxmail demo --help`"
		}
		return &cliError{code: exitUsage, msg: msg}
	}
	return fail(err, "the lines above show how far it got")
}
