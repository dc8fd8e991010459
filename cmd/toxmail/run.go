package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/daemon"
	"github.com/toxmail/toxmail/internal/shellquote"
	"github.com/toxmail/toxmail/tox"
)

// shutdownTimeout bounds a graceful stop: SMTP transactions under way
// and logged-in POP3 sessions get this long to finish.
const shutdownTimeout = 15 * time.Second

func runRun(c *cli, args []string) error {
	privateFiles()
	f := c.flags("run", "toxmail run --config FILE [--log-level debug|info|warn|error] [--log-format text|json]", `
Runs the node: Tox, the mesh, the SMTP and POP3 servers and the dashboard,
as configured in FILE. Logs go to stderr. SIGINT (Ctrl-C) or SIGTERM stops
it gracefully: the servers stop accepting connections; a mail being
submitted (SMTP, from MAIL FROM to the reply to its DATA) and a mail client
logged in to POP3 (until its QUIT, which commits its deletions) get up to
15 s to finish, and are cut after that; connections between mails or not
logged in are closed at once. Then the mesh stops, the Tox profile is saved
and the stores are closed. A second Ctrl-C stops it at once.

The config needs at least one [[tox.bootstrap]] node. Only one toxmail runs
on a data directory at a time.`)
	cfgFlag := f.configFlag()
	level := f.String("log-level", "", "the least severe log record written, `LEVEL`: debug, info, warn or error (default [log] level in the config)")
	format := f.String("log-format", "", "the log `FORMAT`: text or json (default [log] format in the config)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := f.positional(pos); err != nil {
		return err
	}
	var lvl slog.Level
	if *level != "" {
		var ok bool
		if lvl, ok = parseLevel(*level); !ok {
			return usagef("--log-level %q: want debug, info, warn or error; see `toxmail run --help`", *level)
		}
	}
	if *format != "" && *format != "text" && *format != "json" {
		return usagef("--log-format %q: want text or json; see `toxmail run --help`", *format)
	}

	cfg, err := c.loadConfig(*cfgFlag)
	if err != nil {
		return err
	}
	if len(cfg.SMTP.Users) == 0 {
		return failf("%s has no [[smtp.users]]: the SMTP and POP3 servers take mail only from a user who logs in; "+
			"add one with `toxmail passwd --add --user NAME --config %s`", cfg.Path, shellquote.Quote(cfg.Path))
	}
	if *level == "" {
		lvl = cfg.LogLevel()
	}
	if *format == "" {
		*format = cfg.Log.Format
	}
	log := newLogger(c.stderr, lvl, *format)

	d, err := daemon.Open(cfg, daemon.Options{Logger: log, Passphrase: c.passphrase()})
	if err != nil {
		if errors.Is(err, daemon.ErrNoBootstrap) || errors.Is(err, daemon.ErrLocked) {
			return &cliError{code: exitFailure, msg: clean(err)}
		}
		if ferr := profileError(err, cfg); ferr != nil {
			return ferr
		}
		return fail(err, "")
	}
	if err := d.Start(); err != nil {
		d.Close()
		return fail(err, "")
	}
	if *format != "json" { // a JSON log is for programs: the "toxmail running" record says it
		fmt.Fprintf(c.stderr, "toxmail running: Tox ID %s, SMTP %s, POP3 %s, dashboard http://%s/\n",
			d.ToxID(), d.SMTPAddr(), d.POP3Addr(), d.DashboardAddr())
	}

	var served error
	select {
	case <-c.ctx.Done():
		log.Info("signal received, stopping")
	case served = <-d.Err():
		log.Error("stopping after a server failed", "err", served)
	}
	c.stopSignals() // a second Ctrl-C kills at once

	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	stopErr := d.Shutdown(ctx)
	if stopErr != nil && errors.Is(stopErr, context.DeadlineExceeded) {
		log.Warn("SMTP transactions or POP3 sessions still open after the shutdown timeout were cut", "timeout", shutdownTimeout)
		stopErr = nil
	}
	switch {
	case served != nil:
		return fail(served, "see the log above; fix the cause and start it again")
	case stopErr != nil:
		return fail(stopErr, "the node stopped, but not cleanly; see the log above")
	}
	log.Info("stopped")
	return nil
}

// parseLevel reads a log level name, as the config does.
func parseLevel(s string) (slog.Level, bool) { return config.ParseLevel(s) }

// newLogger logs to w at level in format "text" or "json".
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	o := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// profileError words the failures to load a Tox profile with what to do;
// nil when err is not one of them.
func profileError(err error, cfg *config.Config) error {
	p := cfg.ProfilePath()
	switch {
	case errors.Is(err, tox.ErrPassphraseRequired):
		return failf("the Tox profile %s is encrypted; set %s to its passphrase", p, envPassphrase)
	case errors.Is(err, tox.ErrWrongPassphrase):
		return failf("the Tox profile %s did not decrypt (wrong passphrase, or the file was altered); check %s", p, envPassphrase)
	case errors.Is(err, tox.ErrInsecureProfile):
		return failf("the Tox profile %s can be read or written by others, and it holds your secret key; run chmod 600 %s", p, shellquote.Quote(p))
	case errors.Is(err, tox.ErrBadFormat):
		return failf("the Tox profile %s is damaged or not a Tox profile; restore it from a backup", p)
	}
	return nil
}
