package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/daemon"
	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/internal/plural"
)

// contactsCommands are the subcommands of `toxmail contacts`.
var contactsCommands = []command{
	{"add", "add NAME with a Tox ID, or with the ID that name@domain's tox1 DNS record gives", runContactsAdd},
	{"list", "list the address book", runContactsList},
	{"remove", "remove a contact (name, address, key or Tox ID) and end its Tox friendship", runContactsRemove},
	{"requests", "list the friend requests waiting in the running node", runContactsRequests},
	{"approve", "accept a waiting friend request (running node)", func(c *cli, args []string) error { return runContactsDecide(c, args, true) }},
	{"deny", "refuse a waiting friend request (running node)", func(c *cli, args []string) error { return runContactsDecide(c, args, false) }},
}

func runContacts(c *cli, args []string) error {
	privateFiles()
	usage := func() {
		fmt.Fprintf(c.stdout, "Usage: toxmail contacts SUBCOMMAND [arguments] [flags]\n\n")
		fmt.Fprintf(c.stdout, "The address book (contacts.toml in the data directory) and pending friend requests.\n\nSubcommands:\n")
		for _, sc := range contactsCommands {
			fmt.Fprintf(c.stdout, "  %-9s %s\n", sc.name, sc.summary)
		}
		fmt.Fprintf(c.stdout, "\nEach takes --help, and --config FILE (default $%s, else ./%s).\n", envConfig, config.FileName)
	}
	if len(args) == 0 {
		return usagef("missing subcommand: add, list, remove, requests, approve or deny; see `toxmail contacts --help`")
	}
	switch args[0] {
	case "help":
		if len(args) > 1 { // "toxmail contacts help add"
			for _, sc := range contactsCommands {
				if sc.name == args[1] {
					return sc.run(c, []string{"--help"})
				}
			}
			return usagef("unknown subcommand %q: want add, list, remove, requests, approve or deny; see `toxmail contacts --help`", oneLine(args[1]))
		}
		usage()
		return errHelp
	case "-h", "-help", "--help":
		usage()
		return errHelp
	}
	for _, sc := range contactsCommands {
		if sc.name == args[0] {
			return sc.run(c, args[1:])
		}
	}
	if strings.HasPrefix(args[0], "-") {
		// Flags first: name the command line with the subcommand first.
		for i, a := range args {
			for _, sc := range contactsCommands {
				if sc.name == a {
					rest := append(append([]string{a}, args[i+1:]...), args[:i]...)
					return usagef("%q before the subcommand; write `toxmail contacts %s`", oneLine(args[0]), oneLine(strings.Join(rest, " ")))
				}
			}
		}
		return usagef("%q before the subcommand; write `toxmail contacts SUBCOMMAND [arguments] [flags]`, subcommands: add, list, remove, requests, approve or deny", oneLine(args[0]))
	}
	return usagef("unknown subcommand %q: want add, list, remove, requests, approve or deny; see `toxmail contacts --help`", oneLine(args[0]))
}

// loadBook loads the address book of cfg.
func loadBook(cfg *config.Config) (*gateway.ContactBook, string, error) {
	path := config.ContactsPath(cfg)
	entries, err := config.LoadContacts(path)
	if errors.Is(err, config.ErrInsecureFile) {
		return nil, path, fail(err, "") // it says what to run
	}
	if err != nil {
		return nil, path, fail(err, "fix "+path+" (it is plain TOML)")
	}
	book, err := gateway.NewContactBook(entries)
	if err != nil {
		return nil, path, fail(err, "fix "+path)
	}
	return book, path, nil
}

// keptFriends returns how many Tox friendships the node keeps from an
// address book whose file (path) is missing or empty (see
// daemon.KeptFriends); 0 when the file has contents.
func keptFriends(cfg *config.Config, path string) int {
	raw, err := config.ReadContactsFile(path)
	if err == nil && !config.ContactsCutShort(raw) {
		return 0
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0 // loadBook has said what is wrong
	}
	n, _ := daemon.KeptFriends(cfg.DataDir)
	return n
}

// refuseLostBook refuses to write path while the node keeps friendships
// from an address book whose file is missing or empty: a new file without
// those contacts would end them when the node reads it.
func refuseLostBook(cfg *config.Config, path string) error {
	n := keptFriends(cfg, path)
	if n == 0 {
		return nil
	}
	return failf("%s is missing or empty, but the node keeps the Tox friendships of the %s it last had; "+
		"writing the file now would end them: restore it from a backup, or, if the node has run since it was lost, "+
		"change a contact on the dashboard, which writes it again with every contact the node kept; to start an "+
		"empty address book on purpose, %s", path, plural.Count(n, "contact"), daemon.StartOver(cfg.DataDir))
}

func runContactsAdd(c *cli, args []string) error {
	f := c.flags("contacts add", "toxmail contacts add NAME TOXID|ADDRESS [--address ADDRESS] [--config FILE] [--dns HOST:PORT]", `
Adds NAME to the address book with a Tox ID: either the 76 hex digits
themselves (the checksum is checked), or name@domain, whose tox1 DNS record
(TXT name._tox.domain) gives the ID; the contact then keeps that address,
so mail to it needs no lookup. A DNS answer is unauthenticated: confirm
such an ID with its owner another way. With a Tox ID, --address gives the
contact a mail address too, looked up nowhere: mail to it goes to that ID
(the way to take an address whose tox1 key changed, once the owner has
confirmed the new ID).

NAME is how you write to the contact (NAME@tox): letters of any script,
digits and - _ . + ' and the like, at most 64 bytes; no spaces, no @ < > ,
" ( ) ; : [ ] \, no dot first, last or twice in a row, and not 32 or more
hex digits (which would read as a Tox ID). Names match without case.

A name, an address and a Tox ID each belong to one entry: to rename a
contact, remove it and add it again.

The running node picks the change up within seconds and sends the contact
a friend request.`)
	cfgFlag := f.configFlag()
	dnsFlag := f.String("dns", "", "look ADDRESS up at this DNS server (`HOST:PORT`, HOST an IP address) instead of [dns] server of the config")
	addrFlag := f.String("address", "", "with a TOXID, the contact's mail `ADDRESS` (name@domain), taken as given")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := f.positional(pos, "NAME", "TOXID|ADDRESS"); err != nil {
		return err
	}
	name, what := strings.TrimSpace(pos[0]), strings.TrimSpace(pos[1])
	if strings.Contains(name, "@") {
		return usagef("NAME %s has an \"@\"; the nickname comes first: toxmail contacts add NAME TOXID|ADDRESS", clip(name))
	}
	// The arguments' syntax first, so that a mistyped ID is named as
	// such whatever the state of the config.
	var id gateway.ToxID
	if strings.Contains(what, "@") {
		if *addrFlag != "" {
			return usagef("--address goes with a Tox ID; %s is an address already", clip(what))
		}
		if err := checkAddressArg(what, "want name@domain or a Tox ID"); err != nil {
			return err
		}
	} else if id, err = gateway.ParseToxID(what); err != nil {
		return usagef("%s is not a valid Tox ID (%s); copy the whole 76-hex-digit Tox ID again (a 64-digit public key has no checksum and is not accepted)",
			clip(what), clean(err))
	} else if a := strings.TrimSpace(*addrFlag); a != "" {
		if _, err := gateway.NormalizeAddress(a); err != nil {
			return usagef("--address %s is not a mail address (%s); want name@domain", clip(a), malformedWhy(err))
		}
	}
	cfg, err := c.loadConfig(*cfgFlag)
	if err != nil {
		return err
	}
	book, path, err := loadBook(cfg)
	if err != nil {
		return err
	}
	if err := refuseLostBook(cfg, path); err != nil {
		return err
	}

	ct := gateway.Contact{Name: name, Added: time.Now().UTC().Truncate(time.Second)}
	var from string
	if strings.Contains(what, "@") {
		server, timeout, cache := dnsSettings(cfg, *dnsFlag)
		r, err := newResolver(server, timeout, cache)
		if err != nil {
			return err
		}
		if err := withToxNames(r, cfg, what); err != nil {
			return err
		}
		res, err := resolveAddress(c.ctx, r, what, timeout)
		if err != nil {
			return err
		}
		ct.ID, ct.Source, from = res.ID, res.Source, res.Detail
		if res.Source == gateway.SourceDNS {
			if err := checkPin(cfg, res); err != nil {
				return err
			}
			ct.Address = res.Address
			from += "; whoever controls that DNS answer controls this key, so confirm the ID with " + name + " another way"
		}
	} else {
		ct.ID, ct.Source, from = id, gateway.SourceToxID, "the Tox ID as given, checksum verified"
		ct.Address = strings.TrimSpace(*addrFlag) // the book checks and normalises it
	}

	// The node's own ID would be a contact it never befriends. The check
	// needs the profile; one this command cannot open (a passphrase not
	// given) leaves it to the node, which ignores its own key.
	if own, err := nodeAddress(c, cfg); err == nil && envelope.PublicKey(own.PublicKey()) == ct.ID.PublicKey() {
		return usagef("%s is this node's own Tox ID; mail to yourself needs no contact (write to %s@tox)", ct.ID, ct.ID)
	}
	// Read the book again under its lock, now that the DNS lookup and
	// the profile's check are done: the node (a dashboard change) or
	// another `toxmail contacts` may have changed it meanwhile, and this
	// write must not undo that.
	unlock, err := config.LockContacts(path)
	if err != nil {
		return fail(err, "")
	}
	defer unlock()
	if book, _, err = loadBook(cfg); err != nil {
		return err
	}
	if old, ok := book.Lookup(name); ok {
		if old.ID == ct.ID && old.Address == ct.Address {
			fmt.Fprintf(c.stdout, "%s is already in the address book with Tox ID %s\n", old.Name, old.ID)
			return nil
		}
		return failf("a contact named %q already exists (Tox ID %s); remove it first with `toxmail contacts remove %s`, or choose another name",
			old.Name, old.ID, old.Name)
	}
	if ct.Address != "" {
		if old, ok := book.Lookup(ct.Address); ok {
			return failf("%s is already in the address book as %q; remove that one first with `toxmail contacts remove %s`",
				ct.Address, old.Name, ct.Address)
		}
	}
	err = gateway.CheckNewContact(ct)
	if err == nil {
		err = book.Add(ct)
	}
	if err != nil {
		if errors.Is(err, gateway.ErrContactInvalid) {
			return &cliError{code: exitUsage, msg: clean(err) + "; see `toxmail contacts add --help`"}
		}
		if old, ok := book.ByKey(ct.ID.PublicKey()); ok && errors.Is(err, gateway.ErrContactExists) {
			oldName := old.Name
			if oldName == "" {
				oldName = old.Address
			}
			return failf("that Tox ID is already in the address book as %q (one entry per person); to rename it, "+
				"`toxmail contacts remove %s`, then add it again under the new name", oldName, oldName)
		}
		return fail(err, "")
	}
	if err := config.SaveContacts(path, book.List()); err != nil {
		return fail(err, "check that you can write to "+path)
	}
	who := ct.Name
	if ct.Address != "" {
		who += " <" + ct.Address + ">"
	}
	fmt.Fprintf(c.stdout, "added %s: Tox ID %s\n", who, ct.ID)
	fmt.Fprintf(c.stdout, "  from: %s\n", from)
	fmt.Fprintf(c.stdout, "  saved in %s; a running node sends %s a friend request within seconds\n", path, ct.Name)
	return nil
}

// maxShownArg is how much of an argument an error line repeats.
const maxShownArg = 90

// clip shortens what the user typed for an error line, and quotes it.
func clip(s string) string {
	if len(s) > maxShownArg {
		s = s[:maxShownArg] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// sourceLabel names where a contact's ID came from: the token
// contacts.toml stores (and the dashboard's API reports), "toxid" or "dns".
func sourceLabel(s gateway.Source) string { return s.String() }

// listedContact is one contact in `contacts list --json`.
type listedContact struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
	ToxID   string `json:"tox_id"`
	Source  string `json:"source"`
	Added   string `json:"added,omitempty"`
}

func runContactsList(c *cli, args []string) error {
	f := c.flags("contacts list", "toxmail contacts list [--config FILE] [--json]",
		"Lists the address book: name, mail address, Tox ID, where the ID came from (toxid: given as a Tox ID; dns: from an unauthenticated tox1 lookup), as contacts.toml has it, and when it was added. Tox friends that are not in the address book are on the dashboard.")
	cfgFlag := f.configFlag()
	asJSON := f.Bool("json", false, "print a JSON array instead of a table")
	cfg, err := c.parseConfig(f, args, cfgFlag)
	if err != nil {
		return err
	}
	book, path, err := loadBook(cfg)
	if err != nil {
		return err
	}
	out := []listedContact{}
	for _, ct := range book.List() {
		l := listedContact{Name: ct.Name, Address: ct.Address, ToxID: ct.ID.String(), Source: sourceLabel(ct.Source)}
		if !ct.Added.IsZero() {
			l.Added = ct.Added.UTC().Format(time.RFC3339)
		}
		out = append(out, l)
	}
	if *asJSON {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return fail(err, "")
		}
		fmt.Fprintf(c.stdout, "%s\n", b)
		return nil
	}
	if n := keptFriends(cfg, path); n > 0 {
		fmt.Fprintf(c.stderr, "toxmail contacts: warning: %s is missing or empty, but the node keeps the Tox friendships of the %s it last had; restore it from a backup\n", path, plural.Count(n, "contact"))
	}
	if len(out) == 0 {
		fmt.Fprintf(c.stdout, "no contacts in %s; add one with `toxmail contacts add NAME TOXID`\n", path)
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tTOXID\tSOURCE\tADDED")
	for _, l := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", dash(l.Name), dash(l.Address), l.ToxID, l.Source, dash(l.Added))
	}
	return tw.Flush()
}

// wholeSeconds writes an RFC 3339 time from the node's API in UTC and
// whole seconds, as the address book's times are shown; anything else is
// shown as it came.
func wholeSeconds(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runContactsRemove(c *cli, args []string) error {
	f := c.flags("contacts remove", "toxmail contacts remove NAME|ADDRESS|KEY|TOXID [--config FILE]", `
Removes a contact and ends the Tox friendship with it: it no longer relays
mail for you or through you, and a friend request from it waits for
approval again (with friend_requests = "known").

NAME or ADDRESS removes that entry from the address book (contacts.toml);
KEY (64 hex digits) or TOXID (76) removes every entry with that key. The
running node drops the Tox friend within seconds; a node that is stopped
drops it when it next starts.

A Tox friend that is not in the address book (an approved friend request,
a "friend" row on the dashboard) is removed by its KEY or TOXID, which
needs the running node: only it can change the Tox friend list. The
dashboard's Remove button does the same as this command.`)
	cfgFlag := f.configFlag()
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := f.positional(pos, "NAME|ADDRESS|KEY|TOXID"); err != nil {
		return err
	}
	if k := strings.TrimSpace(pos[0]); looksLikeToxID(k) {
		if _, err := gateway.ParseToxID(k); err != nil {
			return usagef("%s is not a valid Tox ID (%s); copy the whole Tox ID again, or give its first 64 hex digits, the key",
				clip(k), clean(err))
		}
	}
	cfg, err := c.loadConfig(*cfgFlag)
	if err != nil {
		return err
	}
	// The book is read, changed and written under its lock, so that a
	// change the node makes meanwhile (the dashboard) is neither lost nor
	// undone.
	unlock, err := config.LockContacts(config.ContactsPath(cfg))
	if err != nil {
		return fail(err, "")
	}
	defer func() { unlock() }()
	book, path, err := loadBook(cfg)
	if err != nil {
		return err
	}
	if err := refuseLostBook(cfg, path); err != nil {
		return err
	}
	key := strings.TrimSpace(pos[0])
	var removed []gateway.Contact
	if ct, ok := book.Lookup(key); ok && book.Remove(key) {
		removed = []gateway.Contact{ct}
	} else if pk, isKey := gateway.ParseKey(key); isKey {
		removed = book.RemoveKey(pk)
		if len(removed) == 0 {
			unlock() // the node, asked to drop the friend, may write the book
			unlock = func() {}
			return removeFriend(c, cfg, key, pk, path)
		}
	}
	if len(removed) == 0 {
		return failf("no contact %s in %s; `toxmail contacts list` shows them (a friend not in the address book is removed by its 64-hex key)",
			clip(key), path)
	}
	if err := config.SaveContacts(path, book.List()); err != nil {
		return fail(err, "check that you can write to "+path)
	}
	for _, ct := range removed {
		who := ct.Name
		if who == "" {
			who = ct.Address
		}
		fmt.Fprintf(c.stdout, "removed %s (Tox ID %s) from %s\n", who, ct.ID, path)
	}
	if _, still := book.ByKey(removed[0].ID.PublicKey()); still {
		fmt.Fprintf(c.stdout, "  another entry has the same key, so it stays a Tox friend\n")
	} else {
		fmt.Fprintf(c.stdout, "  the running node ends the Tox friendship within seconds (a stopped node when it next starts)\n")
	}
	return nil
}

// removeFriend asks the running node to drop a Tox friend that is not in
// the address book.
func removeFriend(c *cli, cfg *config.Config, key string, pk envelope.PublicKey, path string) error {
	api, err := newAPIClient(cfg)
	if err == nil {
		_, err = api.do(c.ctx, http.MethodDelete, "/api/contacts/"+escape(key))
	}
	if err != nil {
		var ae *apiError
		var ce *cliError
		switch {
		case errors.As(err, &ae) && ae.status == http.StatusNotFound:
			return failf("no contact, Tox friend or friend request with key %s (not in %s either); `toxmail contacts list` and the dashboard show them",
				pk.Short(), path)
		case errors.As(err, &ce) && strings.Contains(ce.msg, "is not running"):
			return failf("%s is not in %s, and only the running node can drop a Tox friend that is not in the address book; "+
				"start it with `toxmail run --config %s` and try again", pk.Short(), path, cfg.Path)
		}
		return apiFail(err, "see the node's log")
	}
	fmt.Fprintf(c.stdout, "removed the Tox friend %s (not in the address book); the friendship has ended\n", pk)
	return nil
}

// looksLikeToxID reports whether s is 76 hex digits: meant as a Tox ID,
// whatever its checksum.
func looksLikeToxID(s string) bool {
	if len(s) != gateway.ToxIDHexLen {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// pendingRequest is one entry of GET /api/requests.
type pendingRequest struct {
	PublicKey string `json:"public_key"`
	Message   string `json:"message"`
	Received  string `json:"received,omitempty"`
}

func runContactsRequests(c *cli, args []string) error {
	f := c.flags("contacts requests", "toxmail contacts requests [--config FILE] [--json]", `
Lists the friend requests waiting in the running node for approval: the
sender's public key, when it came and its message (untrusted text). Approve
one with `+"`toxmail contacts approve KEY`"+`, or deny it.`)
	cfgFlag := f.configFlag()
	asJSON := f.Bool("json", false, "print the node's answer as JSON (GET /api/requests)")
	cfg, err := c.parseConfig(f, args, cfgFlag)
	if err != nil {
		return err
	}
	body, err := c.getAPI(cfg, "/api/requests")
	if err != nil {
		return err
	}
	var reqs []pendingRequest
	if err := json.Unmarshal(body, &reqs); err != nil {
		return failf("the node's answer is not JSON this toxmail understands (%v); are the node and the CLI the same version?", err)
	}
	if *asJSON {
		_, err := c.stdout.Write(body)
		return err
	}
	if len(reqs) == 0 {
		fmt.Fprintln(c.stdout, "no friend requests waiting")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tRECEIVED\tMESSAGE")
	for _, r := range reqs {
		fmt.Fprintf(tw, "%s\t%s\t%q\n", r.PublicKey, dash(wholeSeconds(r.Received)), r.Message)
	}
	return tw.Flush()
}

func runContactsDecide(c *cli, args []string, approve bool) error {
	verb, done := "deny", "denied"
	about := "Refuses a friend request waiting in the running node; KEY is the sender's public key (64 hex digits) as `toxmail contacts requests` shows it, or its Tox ID (76)."
	if approve {
		verb, done = "approve", "approved"
		about = "Accepts a friend request waiting in the running node: the sender becomes a Tox friend. KEY is the sender's public key (64 hex digits) as `toxmail contacts requests` shows it, or its Tox ID (76)."
	}
	f := c.flags("contacts "+verb, "toxmail contacts "+verb+" KEY [--config FILE]", about)
	cfgFlag := f.configFlag()
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := f.positional(pos, "KEY"); err != nil {
		return err
	}
	key := strings.TrimSpace(pos[0])
	if len(key) == gateway.ToxIDHexLen {
		// The Tox ID people hand each other: its key, once the checksum
		// proves it was not mistyped.
		id, err := gateway.ParseToxID(key)
		if err != nil {
			return usagef("%s; KEY is the 64-hex public key `toxmail contacts requests` shows, or the 76-hex Tox ID", oneLine(err.Error()))
		}
		key = id.PublicKey().String()
	}
	if _, err := envelope.ParsePublicKey(key); err != nil {
		return usagef("%s is not a public key (64 hex digits) or a Tox ID (76); KEY is what `toxmail contacts requests` shows", clip(key))
	}
	cfg, err := c.loadConfig(*cfgFlag)
	if err != nil {
		return err
	}
	api, err := newAPIClient(cfg)
	if err != nil {
		return err
	}
	if _, err := api.do(c.ctx, http.MethodPost, "/api/requests/"+escape(key)+"/"+verb); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.status == http.StatusNotFound {
			return failf("no friend request waiting from %s; `toxmail contacts requests` lists them", clip(key))
		}
		if errors.As(err, &ae) && ae.status == http.StatusBadRequest {
			return &cliError{code: exitUsage, msg: oneLine(ae.msg) + "; KEY is the 64-hex public key `toxmail contacts requests` shows"}
		}
		return apiFail(err, "see the node's log")
	}
	fmt.Fprintf(c.stdout, "%s the friend request from %s\n", done, strings.ToUpper(key))
	return nil
}
