// Package daemon assembles a toxmail node from its configuration: the Tox
// instance and its transport, the mesh node with its badger store, the
// inbox, SMTP, POP3 and the dashboard. It is what `toxmail run` and
// `toxmail demo` start; everything in it is wiring of the other packages.
package daemon

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
	"github.com/toxmail/toxmail/tox"
)

// PinsFile, in the data directory, holds the key each address first
// resolved to by tox1 DNS (gateway.PinFile).
const PinsFile = "tox1-pins.txt"

// ErrNoBootstrap means the configuration names no bootstrap node, so the
// node could never find anyone on the Tox network.
var ErrNoBootstrap = errors.New("no bootstrap nodes configured")

// Options are what a caller adds to the configuration.
type Options struct {
	// Logger receives the node's structured logs; nil discards them.
	Logger *slog.Logger
	// Passphrase decrypts (and encrypts) the Tox profile; nil means the
	// profile is stored unencrypted (still mode 0600).
	Passphrase []byte
	// Tox adjusts the Tox options after the configuration's are applied
	// (the demo uses it to stay on loopback); optional.
	Tox func(*tox.Options)
	// AllowNoBootstrap starts a node with no bootstrap nodes (the demo
	// bootstraps its nodes from each other after start).
	AllowNoBootstrap bool
	// ContactsPoll is how often the contacts file is checked for changes
	// made by `toxmail contacts`. Default 2 s.
	ContactsPoll time.Duration
	// RejoinEvery is how often a node that is not on the Tox network
	// asks its bootstrap nodes again (libtoxcore asks each once): one that
	// started before the network was up, or lost it, joins when it can.
	// Default 20 s.
	RejoinEvery time.Duration
	// InboxEvery is how often the inbox forgets the tombstones of deleted
	// mail past their envelope's expiry and reclaims the disk space of
	// deleted mail (inbox.Inbox.Expire). Default 10 minutes.
	InboxEvery time.Duration
	// FreeSpace reports the bytes free on the file system holding a
	// directory (tests); nil means statfs.
	FreeSpace func(dir string) (uint64, error)
	// SaveEvery is how often the Tox profile is saved while running.
	// Default 5 minutes.
	SaveEvery time.Duration
	// LookupIP resolves bootstrap nodes' names (tests); nil means
	// net.DefaultResolver.LookupIP.
	LookupIP func(ctx context.Context, network, host string) ([]net.IP, error)
}

// Daemon is one running toxmail node.
type Daemon struct {
	cfg  *config.Config
	opts Options
	log  *slog.Logger

	// The run loop's poll warnings, each said once while it lasts.
	contactsWarn, pinsWarn repeatedWarning

	lock  *dirLock
	plock *dirLock // the Tox profile's
	x     *tox.Tox
	tr    *tox.Transport
	store *mesh.BadgerStore
	box   *inbox.Inbox
	node  *mesh.Node
	book  *contactBook
	users atomic.Pointer[map[string]string] // SMTP/POP3 logins (users.go)
	pins  *gateway.PinFile                  // tox1 keys pinned at first use
	// cfgDigest is the config file's digest when its users were last
	// taken, cfgRefused when it last failed to load (users.go).
	cfgDigest, cfgRefused [sha256.Size]byte
	restartKeys           []string // the config file's changes that wait for a restart, as last logged
	smtp                  *gateway.SMTPServer
	pop3                  *gateway.POP3Server
	dash                  *gateway.Dashboard
	resolve               *gateway.Resolver
	started               time.Time

	smtpL, pop3L, dashL net.Listener

	// friendsMu orders the changes to the Tox friend list (syncFriends,
	// removeContact); applied is the address book's keys as last applied
	// (see friends.go), appliedOK whether they are known.
	friendsMu sync.Mutex
	applied   map[tox.PublicKey]bool
	appliedOK bool

	saveMu sync.Mutex // orders profile saves (saveProfile)
	// bootstrapping is set while a bootstrap pass runs (bootstrapAsync).
	bootstrapping atomic.Bool
	mb            *gateway.Mailbox
	reports       reports // non-delivery reports (reports.go)
	bounces       bounces // notices of text messages not stored (plain.go)

	// tombstonesExpired counts what inbox maintenance removed.
	tombstonesExpired atomic.Int64

	stop     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.Mutex
	closed   bool
	serveErr chan error
}

// Open builds the node described by cfg without starting anything that
// talks to the network: it takes the data directory's lock, loads the
// profile, and opens the stores. Close undoes it.
func Open(cfg *config.Config, opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.ContactsPoll <= 0 {
		opts.ContactsPoll = 2 * time.Second
	}
	if opts.RejoinEvery <= 0 {
		opts.RejoinEvery = 20 * time.Second
	}
	if opts.InboxEvery <= 0 {
		opts.InboxEvery = 10 * time.Minute
	}
	if opts.SaveEvery <= 0 {
		opts.SaveEvery = 5 * time.Minute
	}
	if len(cfg.Tox.Bootstrap) == 0 && !cfg.Tox.LANDiscovery && !opts.AllowNoBootstrap {
		return nil, fmt.Errorf("%w: add at least one [[tox.bootstrap]] entry (host, port, public_key) to %s; "+
			"public nodes are listed at https://nodes.tox.chat, or run your own tox-bootstrapd", ErrNoBootstrap, cfg.Path)
	}
	d := &Daemon{cfg: cfg, opts: opts, log: opts.Logger, stop: make(chan struct{}), serveErr: make(chan error, 3)}
	if err := d.open(); err != nil {
		// Undo what was opened; its own errors matter less than err.
		d.Close()
		return nil, err
	}
	return d, nil
}

// open does Open's work in order; on an error, Close undoes whatever of
// it was done.
func (d *Daemon) open() error {
	if err := os.MkdirAll(d.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("daemon: data directory: %w", err)
	}
	if err := CheckDataDir(d.cfg.DataDir); err != nil {
		return err
	}
	lock, err := lockDir(d.cfg.DataDir)
	if err != nil {
		return err
	}
	d.lock = lock
	// The profile's lock is PROFILE.lock, unless that is the directory's
	// own lock file (a profile named "toxmail"), which already excludes
	// any other node on this profile.
	if pl := d.cfg.ProfilePath() + ".lock"; filepath.Clean(pl) != filepath.Clean(filepath.Join(d.cfg.DataDir, "toxmail.lock")) {
		if d.plock, err = lockProfile(d.cfg.ProfilePath()); err != nil {
			return err
		}
	}
	// A save cut short by a kill left a copy of the profile, secret key
	// and all; with the profile locked, no save is under way.
	removed, err := tox.RemoveProfileTemps(d.cfg.ProfilePath())
	for _, n := range removed {
		d.log.Info("removed a copy of the Tox profile that an interrupted save left", "file", n)
	}
	if err != nil {
		d.log.Warn("an interrupted save's copy of the Tox profile is still there", "err", err)
	}
	if err := d.openTox(); err != nil {
		return err
	}
	if err := d.openStores(); err != nil {
		return err
	}
	return d.openGateway()
}

func (d *Daemon) openTox() error {
	save, err := tox.LoadProfile(d.cfg.ProfilePath(), d.opts.Passphrase)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("daemon: no Tox profile at %s: run `toxmail init --dir %s` first", d.cfg.ProfilePath(), d.cfg.DataDir)
		}
		return fmt.Errorf("daemon: loading the Tox profile: %w", err)
	}
	// The save holds the secret key: wiped once libtoxcore has its copy
	// (best effort: the garbage collector may have copied it before).
	defer clear(save)
	o := d.cfg.ToxOptions()
	o.Savedata = save
	o.Logger = d.log.With("component", "toxcore")
	if d.opts.Tox != nil {
		d.opts.Tox(&o)
	}
	book, err := loadContactBook(config.ContactsPath(d.cfg))
	if errors.Is(err, errContactsEmpty) {
		d.log.Warn("contacts file not read", "err", err)
	} else if err != nil {
		return err
	}
	d.book = book
	d.applied, d.appliedOK, err = loadApplied(filepath.Join(d.cfg.DataDir, appliedFile))
	if err != nil {
		d.log.Warn("the applied address book is unreadable; it is written again from contacts.toml", "err", err)
	}
	d.tr = tox.NewTransport(tox.TransportConfig{
		MaxFrame:  max(16<<20, d.cfg.Mesh.MaxEnvelopeSize+1<<10),
		Policy:    d.cfg.RequestPolicy(),
		Known:     d.book.knows,
		OnText:    d.onText,
		OnRequest: func(r tox.Request) { d.log.Info("friend request waiting for approval", "from", r.Key.Short()) },
		Logger:    d.log.With("component", "transport"),
	})
	o.Callbacks = d.tr.Callbacks()
	if d.x, err = tox.New(o); err != nil {
		return fmt.Errorf("daemon: starting Tox: %w", err)
	}
	if err := d.tr.Attach(d.x); err != nil {
		return fmt.Errorf("daemon: Tox transport: %w", err)
	}
	if d.cfg.Name != "" {
		if err := d.x.SetName(d.cfg.Name); err != nil {
			d.log.Warn("setting the Tox name", "err", err)
		}
	}
	return d.saveProfile()
}

func (d *Daemon) openStores() error {
	var err error
	d.store, err = mesh.OpenBadgerStore(mesh.BadgerOptions{
		Dir:             filepath.Join(d.cfg.DataDir, "mesh"),
		Logger:          d.log.With("component", "store"),
		MaxEnvelopeSize: d.cfg.Mesh.MaxEnvelopeSize,
		MaxSeen:         d.cfg.Mesh.MaxSeen,
	})
	if err != nil {
		return fmt.Errorf("daemon: mesh store: %w", err)
	}
	d.box, err = inbox.Open(inbox.Options{Dir: filepath.Join(d.cfg.DataDir, "inbox"), Logger: d.log.With("component", "inbox"),
		MaxMessageSize: inboxLimit(d.cfg.Mesh.MaxEnvelopeSize), Quota: d.cfg.POP3.MaxMailboxBytes, OnDelete: d.roomMade})
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	sk, err := d.x.SecretKey()
	if err != nil {
		return err
	}
	id, err := envelope.KeyPairFromSecret(envelope.SecretKey(sk))
	if err != nil {
		return err
	}
	if id.Public != d.x.PublicKey() {
		return errors.New("daemon: the profile's secret key does not match its public key")
	}
	d.mb, err = gateway.NewMailbox(gateway.MailboxConfig{Inbox: d.box, Directory: d.book, Hostname: d.cfg.SMTP.Domain,
		TTL: d.cfg.Mesh.TTL, Logger: d.log.With("component", "mailbox"), SpaceCheck: d.roomCheck()})
	if err != nil {
		return err
	}
	d.node, err = mesh.NewNode(d.cfg.MeshConfig(), mesh.Deps{
		Identity:  id,
		Transport: d.tr,
		Store:     spaceStore{d.store, d.roomCheck()},
		Mailbox:   d.mb,
		Logger:    d.log.With("component", "mesh"),
	})
	if err != nil {
		return fmt.Errorf("daemon: mesh: %w", err)
	}
	return nil
}

func (d *Daemon) openGateway() error {
	var dns gateway.TXTResolver
	if d.cfg.DNS.Server == "" {
		dns = gateway.SystemResolver(d.cfg.DNS.Timeout)
	} else {
		r, err := gateway.NewDNSResolver(d.cfg.DNS.Server, d.cfg.DNS.Timeout)
		if err != nil {
			return fmt.Errorf("daemon: dns.server: %w", err)
		}
		dns = r
	}
	cache, err := gateway.NewTXTCache(dns, d.cfg.DNSCacheConfig())
	if err != nil {
		return err
	}
	pins, err := gateway.OpenPinFile(filepath.Join(d.cfg.DataDir, PinsFile))
	if err != nil {
		return err
	}
	if skipped := pins.Skipped(); len(skipped) > 0 {
		d.log.Warn("tox1 key pins: lines not understood were skipped (and kept)", "file", pins.Path(), "lines", skipped)
	}
	d.pins = pins
	d.resolve = &gateway.Resolver{Contacts: d.book, DNS: cache, Pins: pins, IsFriend: d.isFriend, Logger: d.log.With("component", "resolve")}

	// Guessing by SMTP or POP3 slows both; names that cannot log in share
	// one entry, so made-up names cannot hold up a real user.
	failures := &gateway.LoginFailures{Known: func(user string) bool {
		_, ok := (*d.users.Load())[user]
		return ok
	}}
	sc := d.cfg.SMTPConfig()
	sc.Failures = failures
	sc.Plain = plainSender{d}
	sc.SpaceCheck = d.roomCheck()
	sc.From = gateway.OwnFrom(d.cfg.Name, d.ToxID())
	sc.Logger = d.log // the gateway's servers name their own component
	if d.smtp, err = gateway.NewSMTPServer(sc, d.resolve, d.node); err != nil {
		return fmt.Errorf("daemon: smtp: %w", err)
	}
	pc := d.cfg.POP3Config()
	pc.Failures = failures
	pc.Logger = d.log
	pc.KnownUser = func(name string) bool { _, ok := (*d.users.Load())[name]; return ok }
	drop := gateway.InboxMaildrop(d.box, nil, d.log.With("component", "pop3"))
	d.users.Store(&sc.Users)
	d.cfgDigest = d.configDigest()
	auth := gateway.POP3AuthFunc(func(user, pass string) (gateway.Maildrop, error) {
		if !checkPassword(*d.users.Load(), user, pass) {
			return nil, gateway.ErrPOP3BadCredentials
		}
		return drop, nil
	})
	if d.pop3, err = gateway.NewPOP3Server(pc, auth); err != nil {
		return fmt.Errorf("daemon: pop3: %w", err)
	}
	if d.dash, err = gateway.NewDashboard(gateway.DashboardConfig{
		Addr:        d.cfg.Dashboard.Listen,
		AllowRemote: d.cfg.Dashboard.AllowRemote,
		Token:       d.cfg.Dashboard.Token,
		Logger:      d.log,
	}, &backend{d}); err != nil {
		return fmt.Errorf("daemon: dashboard: %w", err)
	}
	return nil
}

// Start binds the listeners, starts the mesh, bootstraps Tox and befriends
// the address book. It returns once everything is listening.
func (d *Daemon) Start() error {
	var err error
	if d.smtpL, err = listen("smtp.listen", d.cfg.SMTP.Listen); err != nil {
		return err
	}
	if d.pop3L, err = listen("pop3.listen", d.cfg.POP3.Listen); err != nil {
		return err
	}
	if d.dashL, err = listen("dashboard.listen", d.cfg.Dashboard.Listen); err != nil {
		return err
	}
	if err := d.node.Start(); err != nil {
		return fmt.Errorf("daemon: mesh: %w", err)
	}
	d.started = time.Now()
	d.serve("smtp", func() error { return d.smtp.Serve(d.smtpL) })
	d.serve("pop3", func() error { return d.pop3.Serve(d.pop3L) })
	d.serve("dashboard", func() error { return d.dash.Serve(d.dashL) })
	m := d.cfg.Mesh
	d.log.Debug("settings", "config", d.cfg.Path, "data_dir", d.cfg.DataDir,
		"ttl", m.TTL, "lifetime", m.Lifetime, "max_held_bytes", m.MaxHeldBytes, "friend_share", m.FriendShare,
		"friend_requests", d.cfg.Tox.FriendRequests, "bootstrap_nodes", len(d.cfg.Tox.Bootstrap))
	d.syncFriends()
	d.wg.Add(1)
	go d.background()
	port, _ := d.UDPPort()
	d.log.Info("toxmail running", "tox_id", d.ToxID().String(), "smtp", d.SMTPAddr(), "pop3", d.POP3Addr(), "dashboard", d.DashboardAddr(),
		"udp_port", port, "dht_key", envelope.PublicKey(d.DHTKey()).String())
	return nil
}

// roomMade is called when mail is deleted from the inbox: the mesh tries
// the deliveries it refused that may now fit again at once, rather than
// at the end of a backoff of up to an hour. It does not wait for the node,
// which may be delivering into the inbox.
func (d *Daemon) roomMade() {
	n := d.node
	if n == nil {
		return
	}
	room := int64(-1) // no quota: the disk may have been what was short
	if u := d.box.Usage(); u.Quota > 0 {
		room = max(u.Quota-u.Bytes, 0)
	}
	go n.RetryDeliveries(room)
}

// inboxLimit is the largest mail the inbox takes: at least the largest a
// mesh envelope can bring (config.LargestStoredMail). A refusal there is
// permanent, so it must never refuse mail the mesh accepted.
func inboxLimit(maxEnvelope int) int64 {
	return max(inbox.DefaultMaxMessageSize, config.LargestStoredMail(maxEnvelope))
}

func listen(knob, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("daemon: %s = %q: %w (is another program using the port? change %s in the config)", knob, addr, err, knob)
	}
	return l, nil
}

func (d *Daemon) serve(name string, f func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := f(); err != nil && !d.isClosed() {
			d.log.Error("server stopped", "server", name, "err", err)
			d.serveErr <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// Err delivers the first failure of a server after Start.
func (d *Daemon) Err() <-chan error { return d.serveErr }

// background saves the profile now and then, follows the contacts file and
// stores the non-delivery reports of mail that expired (reports.go).
func (d *Daemon) background() {
	defer d.wg.Done()
	save := time.NewTicker(d.opts.SaveEvery)
	defer save.Stop()
	poll := time.NewTicker(d.opts.ContactsPoll)
	defer poll.Stop()
	rejoin := time.NewTicker(d.opts.RejoinEvery)
	defer rejoin.Stop()
	maint := time.NewTicker(d.opts.InboxEvery)
	defer maint.Stop()
	d.bootstrapAsync(true)
	if d.cfg.SMTP.NonDeliveryReports && d.cfg.Mesh.OutboxRetention == 0 {
		d.log.Warn("mesh.outbox_retention = 0s: mail that expires undelivered leaves the outbox at once and gets no non-delivery report")
	}
	d.reportExpired(true, time.Now())
	for {
		select {
		case <-d.stop:
			return
		case <-maint.C:
			// Without this the inbox keeps every byte ever delivered:
			// badger reclaims deleted mail only in value-log GC.
			n, err := d.box.Expire()
			d.tombstonesExpired.Add(int64(n))
			if err != nil {
				d.log.Warn("inbox maintenance", "err", err)
			} else if n > 0 {
				d.log.Debug("inbox maintenance: forgot deleted mail past its expiry", "tombstones", n)
			}
		case <-rejoin.C:
			if !d.Online() {
				d.bootstrapAsync(false)
			}
		case <-save.C:
			if err := d.saveProfile(); err != nil {
				d.log.Error("saving the Tox profile", "err", err)
			}
		case now := <-poll.C:
			d.reportExpired(false, now)
			d.reloadUsers()
			_, err := d.pins.Reload() // a pin deleted by hand takes effect
			d.pinsWarn.report(d.log, "tox1 key pins not reread", "tox1 key pins reread", err)
			changed, err := d.book.reload()
			d.contactsWarn.report(d.log, "contacts file not reloaded; the node keeps the address book it had",
				"contacts file reloaded", err)
			if err == nil && changed {
				d.log.Info("contacts file changed; befriending new contacts, unfriending removed ones")
				d.syncFriends()
			}
		}
	}
}

// saveProfile writes the Tox profile (keys, friends) atomically, mode 0600.
// Saves are taken one at a time, so that an older snapshot (encrypting one
// takes a tenth of a second) is never written over a newer one.
func (d *Daemon) saveProfile() error {
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	data, err := d.x.Savedata()
	if err != nil {
		return err
	}
	defer clear(data) // it holds the secret key
	return tox.SaveProfile(d.cfg.ProfilePath(), data, d.opts.Passphrase)
}

func (d *Daemon) isClosed() bool {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	return d.closed
}

// Close shuts the node down gracefully: the servers stop accepting and
// finish what is in flight (bounded by ctx), the mesh stops, the Tox
// profile is saved, and the stores are closed.
func (d *Daemon) Close() error { return d.Shutdown(context.Background()) }

// Shutdown is Close with a deadline: the SMTP, POP3 and dashboard servers
// stop accepting at once, SMTP transactions under way (MAIL FROM sent)
// and logged-in POP3 sessions may finish until ctx ends, and are cut
// then; sessions idle between transactions, or not logged in, are closed
// at once. Then the mesh stops, the profile is saved and the stores close.
func (d *Daemon) Shutdown(ctx context.Context) error {
	d.closeMu.Lock()
	if d.closed {
		d.closeMu.Unlock()
		return nil
	}
	d.closed = true
	d.closeMu.Unlock()
	// The three servers stop accepting at once and share the grace
	// period: an SMTP transaction under way, a logged-in POP3 session and
	// a dashboard request in flight may finish until ctx ends.
	var stops []func(context.Context) error
	if d.smtp != nil && d.smtpL != nil {
		stops = append(stops, d.smtp.Shutdown)
	}
	if d.pop3 != nil && d.pop3L != nil {
		stops = append(stops, d.pop3.Shutdown)
	}
	if d.dash != nil && d.dashL != nil {
		stops = append(stops, d.dash.Shutdown)
	}
	errs := make([]error, len(stops))
	var stopping sync.WaitGroup
	for i, stop := range stops {
		stopping.Go(func() { errs[i] = stop(ctx) })
	}
	stopping.Wait()
	for _, l := range []net.Listener{d.smtpL, d.pop3L, d.dashL} {
		if l != nil {
			l.Close()
		}
	}
	close(d.stop)
	if d.node != nil {
		errs = append(errs, d.node.Close())
	}
	if d.x != nil {
		if err := d.saveProfile(); err != nil {
			errs = append(errs, fmt.Errorf("saving the Tox profile: %w", err))
		}
	}
	if d.tr != nil {
		d.tr.Close()
	}
	if d.x != nil {
		errs = append(errs, d.x.Close())
	}
	d.wg.Wait()
	if d.store != nil {
		errs = append(errs, d.store.Close())
	}
	if d.box != nil {
		errs = append(errs, d.box.Close())
	}
	d.plock.release()
	d.lock.release()
	var out []error
	for _, e := range errs {
		if e != nil && !errors.Is(e, net.ErrClosed) && !errors.Is(e, context.Canceled) {
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}

// ToxID is the node's full Tox ID, to give to friends.
func (d *Daemon) ToxID() gateway.ToxID {
	a := d.x.Address()
	var id gateway.ToxID
	copy(id[:], a[:])
	return id
}

// PublicKey is the node's long-term public key.
func (d *Daemon) PublicKey() envelope.PublicKey { return d.x.PublicKey() }

// UDPPort is the port the Tox instance listens on.
func (d *Daemon) UDPPort() (uint16, error) { return d.x.UDPPort() }

// Online reports whether the Tox instance is connected to the DHT (it has
// joined the network through a bootstrap node or a friend).
func (d *Daemon) Online() bool {
	c, err := d.x.SelfConnection()
	return err == nil && c.Online()
}

// DHTKey is the Tox instance's DHT key (what others bootstrap from).
func (d *Daemon) DHTKey() [32]byte { return d.x.DHTKey() }

// Node is the mesh node.
func (d *Daemon) Node() *mesh.Node { return d.node }

// Inbox is the node's mailbox.
func (d *Daemon) Inbox() *inbox.Inbox { return d.box }

// SMTPAddr, POP3Addr and DashboardAddr are the bound addresses (after
// Start).
func (d *Daemon) SMTPAddr() string { return addrOf(d.smtpL) }

// POP3Addr is the POP3 server's bound address.
func (d *Daemon) POP3Addr() string { return addrOf(d.pop3L) }

// DashboardAddr is the dashboard's bound address.
func (d *Daemon) DashboardAddr() string { return addrOf(d.dashL) }

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}
