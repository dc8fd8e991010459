package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/daemon"
	"github.com/toxmail/toxmail/gateway"
)

func runLookup(c *cli, args []string) error {
	f := c.flags("lookup", "toxmail lookup ADDRESS [--dns HOST:PORT] [--config FILE]", `
Resolves name@domain to a Tox ID through tox1 DNS: the TXT record
"v=tox1;id=<76 hex>" at name._tox.domain. It asks --dns if given, else the
[dns] server of the config (--config, else $TOXMAIL_CONFIG, else
./toxmail.toml if there is one), else the system's resolver.

tox1 records are not signed: whoever controls the DNS answer controls the
key. Confirm an ID another way before trusting it with anything sensitive.`)
	dnsFlag := f.String("dns", "", "ask this DNS server (`HOST:PORT`, HOST an IP address) instead")
	cfgFlag := f.configFlag()
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := f.positional(pos, "ADDRESS"); err != nil {
		return err
	}
	addr := strings.TrimSpace(pos[0])
	if !strings.Contains(addr, "@") {
		return usagef("%s is not a mail address; want name@domain, e.g. toxmail lookup alice@example.org", clip(addr))
	}
	if err := checkAddressArg(addr, "want name@domain, e.g. alice@example.org"); err != nil {
		return err
	}
	var server, pinPath string
	var cfg *config.Config
	timeout := gateway.DefaultDNSTimeout
	cache := gateway.DNSCacheConfig{}
	if path, explicit := c.configPath(*cfgFlag); explicit || fileExists(path) {
		cfg, err = c.loadSettings("lookup", *cfgFlag)
		if err != nil {
			return err
		}
		server, timeout, cache = cfg.DNS.Server, cfg.DNS.Timeout, cfg.DNSCacheConfig()
		pinPath = filepath.Join(cfg.DataDir, daemon.PinsFile)
	}
	if *dnsFlag != "" {
		server = *dnsFlag
	}
	r, err := newResolver(server, timeout, cache)
	if err != nil {
		return err
	}
	if err := withToxNames(r, cfg, addr); err != nil {
		return err
	}
	res, err := resolveAddress(c.ctx, r, addr, timeout)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, res.ID.String())
	if res.Source == gateway.SourceDNS {
		fmt.Fprintf(c.stdout, "%s: %s. DNS answers are unauthenticated: whoever controls the answer controls the key; "+
			"confirm the ID with its owner another way before trusting it.\n", res.Address, res.Detail)
		if cfg != nil && !printBookEntry(c, cfg, res) {
			printPin(c, pinPath, res)
		}
	} else {
		fmt.Fprintf(c.stdout, "%s: %s; nothing was looked up.\n", res.Address, res.Detail)
	}
	return nil
}

// printBookEntry says which key the node sends mail for res.Address to
// when its address book has the address (the book comes before DNS, and
// pins do not apply), and reports whether it did.
func printBookEntry(c *cli, cfg *config.Config, res gateway.Resolution) bool {
	book, path, err := loadBook(cfg)
	if err != nil {
		fmt.Fprintf(c.stdout, "The node's address book could not be read: %s.\n", clean(err))
		return false
	}
	ct, ok := book.Lookup(res.Address)
	if !ok {
		return false
	}
	if ct.ID.PublicKey() == res.Key {
		fmt.Fprintf(c.stdout, "The address book (%s) has this address for %q with this key: the node sends there without a lookup.\n", path, ct.Name)
		return true
	}
	fmt.Fprintf(c.stdout, "The address book (%s) gives this address to %q, Tox ID %s: the node sends there, not to this DNS answer.\n",
		path, ct.Name, ct.ID)
	return true
}

// printPin says how res compares with the key the node pinned for its
// address at first use (read only: a lookup pins nothing).
func printPin(c *cli, path string, res gateway.Resolution) {
	pins, err := gateway.OpenPinFile(path)
	if err != nil {
		fmt.Fprintf(c.stdout, "The node's pinned keys could not be read: %s.\n", clean(err))
		return
	}
	switch k, ok := pins.Lookup(res.Address); {
	case !ok:
		fmt.Fprintln(c.stdout, "No mail at the node has had this address as a recipient yet: it pins this key the first time one does (at RCPT TO).")
	case k == res.Key:
		fmt.Fprintln(c.stdout, "This is the key the node pinned when this address was first a recipient.")
	default:
		fmt.Fprintf(c.stdout, "WARNING: the node pinned another key, %s, when this address was first a recipient, and refuses this one: "+
			"the answer may be spoofed. If the owner really has a new Tox ID, check it with them and add it to the address book "+
			"with this address (toxmail contacts add NAME TOXID --address %s; the pins are in %s).\n", k, res.Address, path)
	}
}

// checkPin refuses a tox1 DNS resolution whose key differs from the one
// the node pinned for the address at first use, as the node itself would.
func checkPin(cfg *config.Config, res gateway.Resolution) error {
	path := filepath.Join(cfg.DataDir, daemon.PinsFile)
	pins, err := gateway.OpenPinFile(path)
	if err != nil {
		return fail(err, "")
	}
	if k, ok := pins.Lookup(res.Address); ok && k != res.Key {
		return failf("%s: tox1 DNS now gives key %s, but the node pinned %s when this address was first a recipient: "+
			"the answer may be spoofed; if the owner really has a new Tox ID, check it with them and add it by ID "+
			"(toxmail contacts add NAME TOXID --address %s)", res.Address, res.Key, k, res.Address)
	}
	return nil
}

// newResolver returns a tox1 resolver over server ("" for the system's
// resolver), without an address book.
func newResolver(server string, timeout time.Duration, cache gateway.DNSCacheConfig) (*gateway.Resolver, error) {
	var dns gateway.TXTResolver = gateway.SystemResolver(timeout)
	if server != "" {
		r, err := gateway.NewDNSResolver(server, timeout)
		if err != nil {
			return nil, &cliError{code: exitUsage, msg: clean(err) + "; give --dns (or [dns] server in the config) as IP:PORT"}
		}
		dns = r
	}
	cached, err := gateway.NewTXTCache(dns, cache)
	if err != nil {
		return nil, fail(err, "fix the [dns] section of the config")
	}
	return &gateway.Resolver{DNS: cached}, nil
}

// checkAddressArg checks the syntax of an address given as an argument,
// before anything is loaded or looked up: a malformed address, or a Tox
// address whose ID is mistyped, is a usage error. want says what to give.
func checkAddressArg(addr, want string) error {
	norm, err := gateway.NormalizeAddress(addr)
	if err != nil {
		return usagef("%s is not a mail address (%s); %s", clip(addr), malformedWhy(err), want)
	}
	if !strings.HasSuffix(norm, "@"+gateway.ToxDomain) {
		return nil
	}
	// What a resolver with no address book and no DNS says of it: a raw
	// Tox ID is checked, anything else is left to the real resolver.
	_, err = (&gateway.Resolver{}).Resolve(context.Background(), norm)
	var re *gateway.ResolveError
	if errors.As(err, &re) && (errors.Is(err, gateway.ErrToxIDLength) || errors.Is(err, gateway.ErrToxIDHex) ||
		errors.Is(err, gateway.ErrToxIDChecksum) || errors.Is(err, gateway.ErrToxIDKey)) {
		return usagef("%s is not a valid Tox address (%s); copy the whole 76-hex-digit Tox ID again", clip(addr), clean(re.Err))
	}
	return nil
}

// withToxNames gives r the address book of cfg (nil: none) when addr is
// NAME@tox, which names a contact: the book is the only place such a name
// is found. Other addresses are looked up in DNS as the command says;
// lookup then says whether the book overrides the answer.
func withToxNames(r *gateway.Resolver, cfg *config.Config, addr string) error {
	if cfg == nil {
		return nil
	}
	norm, err := gateway.NormalizeAddress(addr)
	if err != nil {
		return nil // the resolver says what is wrong
	}
	if _, domain, _ := strings.Cut(norm, "@"); domain != gateway.ToxDomain {
		return nil
	}
	book, _, err := loadBook(cfg)
	if err != nil {
		return err
	}
	r.Contacts = book
	return nil
}

// resolveAddress resolves one address, wording the failures.
func resolveAddress(ctx context.Context, r *gateway.Resolver, addr string, timeout time.Duration) (gateway.Resolution, error) {
	// The resolver bounds the lookup by timeout; this is a backstop.
	ctx, cancel := context.WithTimeout(ctx, max(timeout, time.Second)+time.Second)
	defer cancel()
	res, err := r.Resolve(ctx, addr)
	if err == nil {
		return res, nil
	}
	shown := addr
	if len(shown) > maxShownArg {
		shown = clip(addr) // quoted, and cut
	}
	var re *gateway.ResolveError
	switch {
	case !errors.As(err, &re):
		return res, fail(err, "")
	case re.Temp:
		return res, failf("%s: %s; check the network or the DNS server (--dns HOST:PORT, or [dns] server in the config)",
			shown, strings.TrimSuffix(re.Reason, ", try again later"))
	case errors.Is(err, gateway.ErrDNSNotFound):
		return res, failf("%s: %s; check the address, or ask its owner for their Tox ID", shown, strings.TrimPrefix(re.Reason, "unknown recipient: not in the address book and "))
	}
	return res, failf("%s: %s; check the address, or ask its owner for their Tox ID", shown, oneLine(re.Reason))
}

// malformedWhy says what is wrong with a malformed address: the
// AddressError's reason, or the whole error for any other.
func malformedWhy(err error) string {
	if ae, ok := errors.AsType[*gateway.AddressError](err); ok {
		return oneLine(ae.Reason)
	}
	return clean(err)
}

// dnsSettings returns the DNS server, timeout and cache of cfg, with the
// server overridden by flagValue when set.
func dnsSettings(cfg *config.Config, flagValue string) (string, time.Duration, gateway.DNSCacheConfig) {
	server := cfg.DNS.Server
	if flagValue != "" {
		server = flagValue
	}
	return server, cfg.DNS.Timeout, cfg.DNSCacheConfig()
}
