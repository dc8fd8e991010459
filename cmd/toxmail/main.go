// Command toxmail is the toxmail CLI: it creates a node (init), runs it
// (run), shows its Tox ID (id), sets its mail password (passwd), manages
// the address book and friend
// requests (contacts), resolves tox1 addresses (lookup), asks a running
// node for its state (status), runs the simulator (sim) and the loopback
// demo (demo). It is wiring only: the work is done by the packages.
//
// Every command has --help, exits 0 on success, and otherwise prints one
// line "toxmail CMD: reason; what to do" on stderr and exits 1 (2 for a
// wrong command line).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// command is one subcommand of toxmail.
type command struct {
	name    string
	summary string // one line for `toxmail help`
	run     func(c *cli, args []string) error
}

// commands lists the subcommands in the order `toxmail help` shows them.
func commands() []command {
	return []command{
		{"init", "create a node: Tox profile, SMTP/POP3 password, dashboard token and a commented toxmail.toml", runInit},
		{"run", "run the node: Tox, mesh, SMTP, POP3 and the dashboard, until SIGINT or SIGTERM", runRun},
		{"id", "print the node's Tox ID (76 hex digits), to give to friends", runID},
		{"passwd", "set a new SMTP/POP3 password (random, or from stdin) in the config", runPasswd},
		{"contacts", "the address book (add, list, remove) and friend requests (requests, approve, deny)", runContacts},
		{"lookup", "resolve name@domain to a Tox ID through tox1 DNS", runLookup},
		{"status", "ask the running node: peers, outbox, envelopes held for others, counters", runStatus},
		{"sim", "simulate the mesh over a social graph: delivery, latency, overhead and storage by TTL", runSim},
		{"demo", "three real nodes on loopback: alice mails carol, offline, through bob", runDemo},
		{"version", "print the version", runVersion},
		{"help", "list the commands, or `toxmail help COMMAND` for one of them", runHelp},
	}
}

// cli is what every command gets: the output streams, the environment and
// a context that ends on SIGINT or SIGTERM.
type cli struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// stderrFile is stderr when it is a file (to tell whether it is a
	// terminal); nil otherwise.
	stderrFile *os.File
	getenv     func(string) string
	// stopSignals restores the default handling of SIGINT and SIGTERM, so
	// that a second Ctrl-C kills a command that is shutting down.
	stopSignals func()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, stderrFile: os.Stderr, getenv: os.Getenv, stopSignals: stop}
	code := c.main(os.Args[1:])
	stop()
	os.Exit(code)
}

// privateFiles makes what this process creates from now on private to
// the user (umask 077), whatever umask it was started with: badger creates
// its files 0666 less the umask, and the inbox holds opened mail. The
// commands that write a node's files call it first.
func privateFiles() { syscall.Umask(0o077) }

// main runs the command named by args[0] and returns the exit status.
func (c *cli) main(args []string) int {
	if len(args) == 0 {
		c.listCommands(c.stdout)
		fmt.Fprintln(c.stderr, "toxmail: no command given; run `toxmail help` for the list, or start with `toxmail init --dir DIR`")
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := findCommand(name)
	if !ok {
		fmt.Fprintf(c.stderr, "toxmail: unknown command %q; run `toxmail help` for the list\n", oneLine(name))
		return exitUsage
	}
	err := cmd.run(c, args[1:])
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	msg, code := exitCode(err)
	fmt.Fprintf(c.stderr, "toxmail %s: %s\n", cmd.name, msg)
	return code
}

func findCommand(name string) (command, bool) {
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd, true
		}
	}
	return command{}, false
}

// listCommands prints what `toxmail help` prints.
func (c *cli) listCommands(w io.Writer) {
	fmt.Fprintf(w, "toxmail: secure e-mail over the Tox network, where friends relay for each other.\n\n")
	fmt.Fprintf(w, "Usage: toxmail COMMAND [arguments] [flags]\n\nCommands:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, "\nEvery command takes --help. The config file is --config FILE, else $%s, else ./toxmail.toml;\n", envConfig)
	fmt.Fprintf(w, "an encrypted Tox profile's passphrase comes from $%s (never from a flag).\n", envPassphrase)
}

func runHelp(c *cli, args []string) error {
	f := c.flags("help", "toxmail help [COMMAND]", "Lists the commands, or shows the help of one.")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		c.listCommands(c.stdout)
		return nil
	case 1:
		if pos[0] == "help" {
			f.usage(c.stdout)
			return nil
		}
		cmd, ok := findCommand(pos[0])
		if !ok {
			return usagef("unknown command %q; run `toxmail help` for the list", pos[0])
		}
		return cmd.run(c, []string{"--help"})
	case 2:
		if pos[0] == "contacts" { // toxmail help contacts add
			return runContacts(c, []string{pos[1], "--help"})
		}
	}
	return usagef("want at most one command, got %q; usage: toxmail help [COMMAND]", strings.Join(pos, " "))
}
