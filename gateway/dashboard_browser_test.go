package gateway_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/mesh"
)

// chromiumPath is Debian's chromium, which the browser test drives.
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts a headless chromium that talks only to loopback, with
// a fresh profile, bounded by timeout overall.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no browser: %v", err)
	}
	bound, cancelBound := context.WithTimeout(context.Background(), timeout)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,"+
			"CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("no-proxy-server", true),
		// Every host name but loopback fails to resolve: nothing leaves 127.0.0.1.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("force-color-profile", "srgb"),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(bound, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	// Cleanups run last-in first-out: the browser exits before its
	// profile directory (registered above) is removed.
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelBound()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	return ctx
}

// step runs actions with a per-step time limit.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text reads the visible text of the element sel selects.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("reading %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// shoot saves a full-page screenshot as name.png in dir.
func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// checkQR decodes the QR code in a screenshot with zbarimg (Debian
// zbar-tools), when it is installed, and compares it with want.
func checkQR(t *testing.T, png, want string) {
	t.Helper()
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Log("zbarimg not installed: the QR code on the overview is not decoded")
		return
	}
	out, err := exec.Command(zbar, "-q", "--raw", png).Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code in %s: %v", png, err)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("the overview's QR code says %q, want %q", got, want)
	}
}

// The dashboard in a real browser over a real mesh: log in, add a contact
// by Tox ID, see a mail to it queued while the two nodes cannot reach each
// other, bring the link up and watch the row turn "delivered"; a relay
// copy held for a third node shows on the relay page. Every page is
// screenshotted into $TOXMAIL_SCREENSHOTS (or a temporary directory).
func TestDashboardBrowser(t *testing.T) {
	ctx := newBrowser(t, 90*time.Second)
	shots := os.Getenv("TOXMAIL_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The mesh: alice (the dashboard's node), bob, and carol, who sends a
	// mail through alice to dave, who is never online: alice holds it.
	clock := mesh.NewVirtualClock(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
	network := mesh.NewMemNetwork(clock, mesh.MemConfig{Latency: 20 * time.Millisecond, ConnectDelay: time.Second})
	keys := make(map[string]envelope.KeyPair)
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		kp, err := envelope.GenerateKeyPair(nil)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = kp
	}
	alice := startTestNode(t, keys["alice"], network, clock, mesh.NewMemStore(), nil)
	startTestNode(t, keys["bob"], network, clock, mesh.NewMemStore(), nil)
	carol := startTestNode(t, keys["carol"], network, clock, mesh.NewMemStore(), nil)
	network.Befriend(keys["alice"].Public, keys["carol"].Public)
	network.SetOnline(keys["alice"].Public, true)
	network.SetOnline(keys["carol"].Public, true)
	runVirtual(clock, 5*time.Second)
	if _, err := carol.Submit(mesh.Outgoing{To: keys["dave"].Public, Body: []byte("Subject: hi dave\r\n\r\nvia alice\r\n"),
		Label: "<carol-1@example.org>"}); err != nil {
		t.Fatal(err)
	}
	runVirtual(clock, 10*time.Second)
	if alice.Stats().Relayed != 1 {
		t.Fatalf("alice relays %d envelopes, want carol's 1", alice.Stats().Relayed)
	}
	// Now alice goes offline: bob is not a friend yet either.
	network.SetOnline(keys["alice"].Public, false)
	clock.Advance(2 * time.Hour) // the held copy ages into the "1–6 h" bucket

	book, err := gateway.NewContactBook(nil)
	if err != nil {
		t.Fatal(err)
	}
	backend := &meshBackend{
		node: alice, network: network, clock: clock, book: book,
		id:       gateway.NewToxID(keys["alice"].Public, [4]byte{0xA1, 0x1C, 0xE0, 0x01}),
		lastSeen: make(map[envelope.PublicKey]time.Time),
		requests: []gateway.DashboardRequest{{PublicKey: keys["dave"].Public,
			Message: "Hello Alice, this is Dave from the climbing club. Please add me!", Received: clock.Now().Add(-20 * time.Minute)}},
	}
	d, err := gateway.NewDashboard(gateway.DashboardConfig{Addr: "127.0.0.1:0", Token: dashToken, Now: clock.Now,
		AuthFailureDelay: -1}, backend)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go d.Serve(l)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Shutdown(sctx)
	})
	base := "http://" + l.Addr().String()

	// Log in through the form.
	step(t, ctx, "open the dashboard", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	shoot(t, ctx, shots, "01-login")
	step(t, ctx, "wrong token",
		chromedp.SendKeys(chromedp.ID("token"), "not-the-token"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".login .flash-error")))
	if got := text(t, ctx, ".login .flash-error"); !strings.Contains(got, "Wrong token") {
		t.Fatalf("after a wrong token: %q", got)
	}
	shoot(t, ctx, shots, "02-login-wrong-token")
	step(t, ctx, "log in",
		chromedp.SendKeys(chromedp.ID("token"), dashToken),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitVisible(chromedp.ID("toxid")))
	if got := text(t, ctx, "#toxid"); got != backend.id.String() {
		t.Fatalf("overview shows Tox ID %q, want %q", got, backend.id)
	}
	shoot(t, ctx, shots, "03-overview")
	checkQR(t, filepath.Join(shots, "03-overview.png"), gateway.ToxURI(backend.id))

	// Add bob by Tox ID through the form.
	bobID := gateway.NewToxID(keys["bob"].Public, [4]byte{0xB0, 0xB0, 0xB0, 0xB0})
	step(t, ctx, "add bob",
		chromedp.Navigate(base+"/contacts"),
		chromedp.SendKeys(chromedp.ID("name"), "bob"),
		chromedp.SendKeys(chromedp.ID("id"), bobID.String()),
		chromedp.Click(chromedp.CSS(`#add button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
	if got := text(t, ctx, ".flash-ok"); !strings.Contains(got, "Added bob") {
		t.Fatalf("after adding bob: %q", got)
	}
	if got := text(t, ctx, "#contacts tbody tr .name"); got != "bob" {
		t.Fatalf("contacts table: first name %q, want bob", got)
	}
	if _, ok := book.Lookup("bob"); !ok {
		t.Fatal("bob is not in the address book")
	}
	shoot(t, ctx, shots, "04-contacts")

	// Approve dave's friend request.
	step(t, ctx, "approve dave",
		chromedp.Click(chromedp.CSS(`form[action="/requests/approve"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action="/requests/approve"]`)))
	if got := text(t, ctx, ".flash-ok"); !strings.Contains(got, "Approved") {
		t.Fatalf("after approving: %q", got)
	}
	if len(backend.Requests()) != 0 {
		t.Fatal("the request is still pending")
	}

	// A mail to bob waits: alice is offline and bob not yet a friend.
	ids, err := alice.Submit(mesh.Outgoing{To: keys["bob"].Public, Body: []byte("Subject: lunch?\r\n\r\nTomorrow at noon?\r\n"),
		Label: "<alice-1@example.org>"})
	if err != nil {
		t.Fatal(err)
	}
	runVirtual(clock, 30*time.Second)
	step(t, ctx, "outbox", chromedp.Navigate(base+"/outbox"), chromedp.WaitVisible(chromedp.CSS("table.outbox")))
	if got := text(t, ctx, "table.outbox tbody tr .status"); got != "queued" {
		t.Fatalf("outbox status %q, want queued", got)
	}
	if got := text(t, ctx, "table.outbox tbody tr .to"); got != "bob" {
		t.Fatalf("outbox recipient %q, want bob", got)
	}
	shoot(t, ctx, shots, "05-outbox-queued")

	// Bring the link up and reload until the ack is back.
	network.SetOnline(keys["alice"].Public, true)
	network.SetOnline(keys["bob"].Public, true)
	network.Befriend(keys["alice"].Public, keys["bob"].Public)
	status := ""
	for attempt := 0; attempt < 20 && status != "delivered"; attempt++ {
		runVirtual(clock, 2*time.Second)
		step(t, ctx, "reload the outbox", chromedp.Navigate(base+"/outbox"), chromedp.WaitVisible(chromedp.CSS("table.outbox")))
		status = text(t, ctx, "table.outbox tbody tr .status")
	}
	if status != "delivered" {
		e, _ := alice.OutboxEntry(ids[0])
		t.Fatalf("outbox status %q after the link came up (entry %+v)", status, e)
	}
	shoot(t, ctx, shots, "06-outbox-delivered")

	step(t, ctx, "contacts again", chromedp.Navigate(base+"/contacts"), chromedp.WaitVisible(chromedp.ID("contacts")))
	if got := text(t, ctx, "#contacts tbody tr .badge-online"); got == "" {
		t.Error("bob is not shown online")
	}
	shoot(t, ctx, shots, "07-contacts-online")

	step(t, ctx, "relay", chromedp.Navigate(base+"/relay"), chromedp.WaitVisible(chromedp.ID("by-age")))
	if got := text(t, ctx, "#by-age tbody tr:nth-child(2) td:nth-child(2)"); got != "1" {
		t.Errorf("relay page: %q envelopes held 1–6 h, want 1", got)
	}
	shoot(t, ctx, shots, "08-relay")

	step(t, ctx, "overview again", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("toxid")))
	shoot(t, ctx, shots, "09-overview-after")

	// Log out: back to the login form, and the pages are closed again.
	step(t, ctx, "log out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.Navigate(base+"/outbox"),
		chromedp.WaitVisible(chromedp.ID("token")))
}
