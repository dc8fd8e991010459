package gateway

// The dashboard's HTML pages and forms. Handlers build plain view structs
// (every string already formatted) and render them with html/template;
// forms POST and redirect (303) to a page that shows the outcome once.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/internal/bytesize"
	"github.com/toxmail/toxmail/internal/charset"
	"github.com/toxmail/toxmail/mesh"
)

// dashFuncs are the template functions; the views are preformatted, so
// there are few.
var dashFuncs = template.FuncMap{
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
}

// pageData is what every template gets.
type pageData struct {
	Title    string
	Active   string // the nav entry to highlight
	CSRF     string
	Flash    *dashFlash
	Error    string // the login page's message
	Refresh  int    // seconds between automatic reloads; 0 for none
	LoggedIn bool
	Me       identityView
	Page     any // the page's own view
}

type identityView struct {
	Name, ToxID, Key, Short string
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500.
func (d *Dashboard) render(w http.ResponseWriter, status int, page string, data *pageData) {
	var buf bytes.Buffer
	if err := d.pages[page].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		d.log.Error("dashboard template failed", "page", page, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError shows a message on a page of its own.
func (d *Dashboard) renderError(w http.ResponseWriter, status int, msg string) {
	d.render(w, status, "notfound", &pageData{Title: http.StatusText(status), Error: msg})
}

// notFound answers every path no route takes.
func (d *Dashboard) notFound(w http.ResponseWriter, r *http.Request) {
	d.renderError(w, http.StatusNotFound, "There is no page at "+clipInput(r.URL.Path, dashEchoName)+".")
}

// base fills in what every logged-in page shows.
func (d *Dashboard) base(s *dashSession, title, active string) *pageData {
	id := d.b.Identity()
	key := id.Key()
	return &pageData{
		Title: title, Active: active, CSRF: s.csrf, Flash: d.takeFlash(s), LoggedIn: true,
		Me: identityView{Name: id.Name, ToxID: id.ToxID.String(), Key: key.String(), Short: key.Short()},
	}
}

// overviewView is the home page.
type overviewView struct {
	Contacts, Online, Requests int
	outboxCounts
	Held             int
	HeldBytes        string
	OnTheWay         int
	Peers, MeshPeers int
	Received         int
	Inbox            inboxView
	Recent           []outboxView
}

// inboxView is how full the inbox is.
type inboxView struct {
	Mails            int
	Bytes, Quota     string // Quota is "" with no limit
	Full, NearlyFull bool   // NearlyFull: at least 90% of the quota
	Short            string // "" unless mail waits for room (Usage.Refusing): how much it needs
}

func newInboxView(u inbox.Usage) inboxView {
	v := inboxView{Mails: u.Mails, Bytes: bytesize.Format(u.Bytes), Full: u.Full()}
	if u.Refusing() {
		v.Short = bytesize.Format(u.Short)
	}
	if u.Quota > 0 {
		v.Quota = bytesize.Format(u.Quota)
		v.NearlyFull = u.Bytes >= u.Quota-u.Quota/10
	}
	return v
}

func (d *Dashboard) overviewPage(w http.ResponseWriter, r *http.Request, s *dashSession) {
	data := d.base(s, "Overview", "overview")
	contacts := d.b.Contacts()
	v := &overviewView{Contacts: len(contacts), Requests: len(d.b.Requests())}
	for _, c := range contacts {
		if c.Online {
			v.Online++
		}
	}
	out := d.b.Outbox()
	v.outboxCounts = countOutbox(out)
	held := d.b.Held()
	v.Held, v.HeldBytes = held.Count, bytesize.Format(held.Bytes)
	st := d.b.Stats()
	v.Peers, v.MeshPeers = st.Peers, st.MeshPeers
	v.Received = int(st.Delivered)
	v.OnTheWay = v.Queued + v.Offered
	v.Inbox = newInboxView(d.b.Inbox())
	v.Recent = d.outboxViews(out[:min(len(out), 5)], contacts)
	data.Page = v
	d.render(w, http.StatusOK, "overview", data)
}

// contactView is one row of the contacts table.
type contactView struct {
	Name, Address        string
	ID, IDShort          string // the Tox ID if known, else the public key
	IsToxID              bool
	Source, SourceTitle  string
	SourceKey            string // the backend's Source, for the CSS class
	Online               bool
	Kind, KindTitle      string
	LastSeen, SeenTitle  string
	RemoveKey, RemoveFor string
}

// requestView is one pending friend request.
type requestView struct {
	Key, Short, Message, Received, ReceivedTitle string
}

type contactsView struct {
	Contacts []contactView
	Requests []requestView
}

func (d *Dashboard) contactsPage(w http.ResponseWriter, r *http.Request, s *dashSession) {
	data := d.base(s, "Contacts", "contacts")
	now := d.now()
	v := &contactsView{}
	for _, c := range d.b.Contacts() {
		v.Contacts = append(v.Contacts, contactRow(c, now))
	}
	for _, q := range d.b.Requests() {
		v.Requests = append(v.Requests, requestView{
			Key: q.PublicKey.String(), Short: shortHex(q.PublicKey.String()), Message: cleanText(q.Message, 500),
			Received: ago(q.Received, now), ReceivedTitle: formatTime(q.Received),
		})
	}
	data.Page = v
	d.render(w, http.StatusOK, "contacts", data)
}

func contactRow(c DashboardContact, now time.Time) contactView {
	key := c.Key()
	// A friend's name may be its own Tox nickname, chosen by whoever
	// runs it: shown as text only, never bidi controls or line breaks.
	name := cleanText(c.Name, maxShownName)
	v := contactView{Name: name, Address: c.Address, Online: c.Online, Kind: c.Kind, SourceKey: c.Source}
	if !c.ToxID.IsZero() {
		v.ID, v.IsToxID = c.ToxID.String(), true
	} else {
		v.ID = key.String()
	}
	v.IDShort = shortHex(v.ID)
	// The backend may also use the address book's Source tokens.
	switch c.Source {
	case DashboardSourceToxID:
		v.Source, v.SourceTitle, v.SourceKey = "Tox ID", "typed or pasted as a Tox ID", DashboardSourceToxID
	case SourceContacts.String():
		v.Source, v.SourceTitle = "address book", "from the address book"
	case DashboardSourceDNS:
		v.Source, v.SourceTitle = "tox1 DNS", "looked up through tox1 DNS: unauthenticated, check it with the contact"
	case DashboardSourceFriend:
		v.Source, v.SourceTitle = "friend", "a Tox friend that is not in the address book"
	default:
		v.Source = c.Source
	}
	switch c.Kind {
	case DashboardKindMesh:
		v.KindTitle = "runs toxmail: mail goes by sealed envelope, relayed by friends"
	case DashboardKindPlain:
		v.KindTitle = "an ordinary Tox client: mail goes as text messages when online"
	default:
		v.Kind, v.KindTitle = DashboardKindUnknown, "not seen online yet"
	}
	switch {
	case c.Online:
		v.LastSeen = "now"
	case c.LastSeen.IsZero():
		v.LastSeen = "never"
	default:
		v.LastSeen, v.SeenTitle = ago(c.LastSeen, now), formatTime(c.LastSeen)
	}
	// Remove names the row by its public key, never by its name: a
	// friend's nickname is its own to choose, and one that read "bob" (an
	// address-book name) or another friend's key made the button remove
	// that contact instead.
	v.RemoveKey, v.RemoveFor = key.String(), key.Short()
	switch {
	case name != "":
		v.RemoveFor = name
	case c.Address != "":
		v.RemoveFor = c.Address
	}
	return v
}

// maxShownName is the most bytes of a contact's name a page shows.
const maxShownName = 128

// outboxView is one row of the outbox table.
type outboxView struct {
	ID, IDShort                string
	Created, CreatedTitle      string
	To, ToTitle                string
	Size                       string
	Status                     string
	Delivered, DeliveredTitle  string
	Expires, ExpiresTitle      string
	Label                      string
	HasLabel, KnownName, IsNew bool
}

func (d *Dashboard) outboxViews(out []mesh.OutboxEntry, contacts []DashboardContact) []outboxView {
	names := contactNames(contacts)
	now := d.now()
	rows := make([]outboxView, 0, len(out))
	for _, o := range out {
		created := time.UnixMilli(o.Created)
		v := outboxView{
			ID: hex.EncodeToString(o.ID[:]), IDShort: hex.EncodeToString(o.ID[:4]),
			Created: ago(created, now), CreatedTitle: formatTime(created),
			Size: bytesize.Format(int64(o.Size)), Status: o.Status.String(),
			ToTitle: o.To.String(), Label: cleanText(labelText(o.Label), 255),
		}
		v.HasLabel = v.Label != ""
		if n, ok := names[o.To]; ok {
			v.To, v.KnownName = n, true
		} else {
			v.To = o.To.Short()
		}
		if o.Delivered != 0 {
			t := time.UnixMilli(o.Delivered)
			v.Delivered, v.DeliveredTitle = ago(t, now), formatTime(t)
		}
		exp := time.Unix(o.Expiry, 0)
		v.Expires, v.ExpiresTitle = ago(exp, now), formatTime(exp)
		rows = append(rows, v)
	}
	return rows
}

// contactNames maps keys to the name a contact goes by.
func contactNames(contacts []DashboardContact) map[envelope.PublicKey]string {
	m := make(map[envelope.PublicKey]string, len(contacts))
	for _, c := range contacts {
		n := cleanText(c.Name, maxShownName)
		if n == "" {
			n = c.Address
		}
		if _, dup := m[c.Key()]; n != "" && !dup {
			m[c.Key()] = n
		}
	}
	return m
}

// relayView is the relay page.
type relayView struct {
	Count  int
	Bytes  string
	ByAge  []ageView
	Groups []statGroup
}

type ageView struct {
	Label        string
	Count, Total int
	Bytes        string
}

// statGroup is a titled list of counters.
type statGroup struct {
	Title string
	Stats []statView
}

type statView struct {
	Name, Value string
	Zero        bool
}

func (d *Dashboard) relayPage(w http.ResponseWriter, r *http.Request, s *dashSession) {
	data := d.base(s, "Relay", "relay")
	held := d.b.Held()
	v := &relayView{Count: held.Count, Bytes: bytesize.Format(held.Bytes), Groups: statGroups(d.b.Stats())}
	for _, b := range held.ByAge {
		v.ByAge = append(v.ByAge, ageView{Label: b.Label, Count: b.Count, Total: max(held.Count, 1), Bytes: bytesize.Format(b.Bytes)})
	}
	data.Page = v
	d.render(w, http.StatusOK, "relay", data)
}

// dashStatGroups sorts mesh.Stats fields into sections; a field not named
// here (a counter added later) lands in "Other".
var dashStatGroups = []struct {
	title  string
	fields []string
}{
	{"Now", []string{"Held", "HeldBytes", "PeakHeldBytes", "OwnHeld", "AcksKept", "Inflight", "Peers", "Online", "MeshPeers"}},
	{"Mail", []string{"Submitted", "OwnExpired", "Delivered", "OpenFailures", "DeliverErrors", "DeliveriesWaiting"}},
	{"Gossip", []string{"OffersIn", "OffersOut", "RequestsIn", "RequestsOut", "Deferred", "RequestRetries", "RequestTimeouts",
		"EnvelopesIn", "EnvelopesOut", "ServesRefused", "Duplicates", "Unsolicited", "Relayed", "Upgrades"}},
	{"Acks", []string{"AcksIn", "AcksOut", "AcksVerified", "AcksForged", "AcksUnknown", "AcksEvicted"}},
	{"Storage", []string{"Refused", "Evicted", "OverBudget", "Expired", "SeenIDs", "SeenForgotten", "StoreErrors"}},
	{"Link", []string{"FramesIn", "FramesOut", "BytesIn", "BytesOut", "SendErrors", "Backlogged", "BacklogDropped", "ServedLater", "BadFrames"}},
}

// statGroups lays mesh.Stats out for the relay page.
func statGroups(st mesh.Stats) []statGroup {
	v := reflect.ValueOf(st)
	t := v.Type()
	used := make(map[string]bool)
	var groups []statGroup
	for _, g := range dashStatGroups {
		sg := statGroup{Title: g.title}
		for _, name := range g.fields {
			f := v.FieldByName(name)
			if !f.IsValid() {
				continue
			}
			used[name] = true
			sg.Stats = append(sg.Stats, statValue(name, f))
		}
		groups = append(groups, sg)
	}
	other := statGroup{Title: "Other"}
	for i := range t.NumField() {
		if name := t.Field(i).Name; !used[name] && t.Field(i).IsExported() {
			other.Stats = append(other.Stats, statValue(name, v.Field(i)))
		}
	}
	if len(other.Stats) > 0 {
		groups = append(groups, other)
	}
	return groups
}

func statValue(name string, f reflect.Value) statView {
	var n int64
	switch {
	case f.CanInt():
		n = f.Int()
	case f.CanUint():
		n = int64(f.Uint())
	}
	val := fmt.Sprint(n)
	if strings.Contains(name, "Bytes") {
		val = bytesize.Format(n)
	}
	return statView{Name: splitCamel(name), Value: val, Zero: n == 0}
}

// splitCamel turns a Go name into lower-case words: "PeakHeldBytes" into
// "peak held bytes". A run of capitals is one word, an acronym, plural or
// not: "SeenIDs" is "seen ids", "HTTPServer" "http server".
func splitCamel(s string) string {
	rs := []rune(s)
	upper := func(i int) bool { return i >= 0 && i < len(rs) && unicode.IsUpper(rs[i]) }
	lower := func(i int) bool { return i >= 0 && i < len(rs) && unicode.IsLower(rs[i]) }
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			plural := lower(i+1) && rs[i+1] == 's' && (i+2 == len(rs) || upper(i+2))
			if lower(i-1) || upper(i-1) && lower(i+1) && !plural {
				b.WriteByte(' ')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// addContactForm adds a contact from the contacts page's form.
func (d *Dashboard) addContactForm(w http.ResponseWriter, r *http.Request, s *dashSession) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	id := strings.TrimSpace(r.PostFormValue("id"))
	addr := strings.TrimSpace(r.PostFormValue("address"))
	if name == "" || id == "" {
		d.setFlash(s, dashFlash{Error: true, Text: "Give both a name and a Tox ID or name@domain address.", Name: name, ID: id, Address: addr})
		http.Redirect(w, r, "/contacts", http.StatusSeeOther)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), dashBackendTimeout)
	defer cancel()
	c, err := d.b.AddContact(ctx, name, id, addr)
	if err != nil {
		d.log.Info("dashboard: adding a contact failed", "err", err)
		d.setFlash(s, dashFlash{Error: true, Text: "Could not add " + clipInput(name, dashEchoName) + ": " + errorLine(err),
			Name: clipInput(name, dashEchoField), ID: clipInput(id, dashEchoField), Address: clipInput(addr, dashEchoField)})
	} else {
		d.log.Info("dashboard: contact added", "key", c.Key().Short(), "source", c.Source)
		d.setFlash(s, dashFlash{Text: addedMessage(name, c)})
	}
	http.Redirect(w, r, "/contacts", http.StatusSeeOther)
}

// addedMessage tells the user what was added, and warns about DNS.
func addedMessage(name string, c DashboardContact) string {
	if c.Name != "" {
		name = c.Name
	}
	msg := "Added " + name + " (" + c.Key().Short() + "…)."
	if c.Source == DashboardSourceDNS {
		msg += " The ID came from tox1 DNS, which is not authenticated: check it with " + name + " before sending anything secret."
	}
	return msg
}

// removeContactForm removes a contact.
func (d *Dashboard) removeContactForm(w http.ResponseWriter, r *http.Request, s *dashSession) {
	key := strings.TrimSpace(r.PostFormValue("key"))
	shown := clipInput(key, dashEchoName)
	if pk, isKey := ParseKey(key); isKey {
		shown = shortHex(strings.ToUpper(strings.TrimSpace(key)))
		for _, c := range d.b.Contacts() { // the row's name, as the page showed it
			if c.Key() == pk {
				if name := cmp.Or(cleanText(c.Name, maxShownName), c.Address); name != "" {
					shown = name + " (" + pk.Short() + "…)"
				}
				break
			}
		}
	}
	if err := d.b.RemoveContact(key); err != nil {
		d.setFlash(s, dashFlash{Error: true, Text: "Could not remove " + shown + ": " + errorLine(err)})
	} else {
		d.log.Info("dashboard: contact removed")
		d.setFlash(s, dashFlash{Text: "Removed " + shown + ": no longer a contact or a Tox friend."})
	}
	http.Redirect(w, r, "/contacts", http.StatusSeeOther)
}

// requestForm approves or denies a friend request.
func (d *Dashboard) requestForm(approve bool) func(http.ResponseWriter, *http.Request, *dashSession) {
	return func(w http.ResponseWriter, r *http.Request, s *dashSession) {
		key, err := parseKeyHex(r.PostFormValue("key"))
		if err == nil {
			err = d.decide(key, approve)
		}
		switch {
		case err != nil:
			d.setFlash(s, dashFlash{Error: true, Text: "Could not answer the request: " + errorLine(err)})
		case approve:
			d.setFlash(s, dashFlash{Text: "Approved " + key.Short() + "…: it is now a friend."})
		default:
			d.setFlash(s, dashFlash{Text: "Denied " + key.Short() + "…."})
		}
		http.Redirect(w, r, "/contacts", http.StatusSeeOther)
	}
}

// decide passes an approval or denial to the backend.
func (d *Dashboard) decide(key envelope.PublicKey, approve bool) error {
	var err error
	if approve {
		err = d.b.Approve(key.String())
	} else {
		err = d.b.Deny(key.String())
	}
	if err == nil {
		d.log.Info("dashboard: friend request answered", "key", key, "approved", approve)
	}
	return err
}

// parseKeyHex parses a 64-hex public key.
func parseKeyHex(s string) (envelope.PublicKey, error) {
	var k envelope.PublicKey
	s = strings.TrimSpace(s)
	if len(s) != 2*envelope.KeySize {
		return k, fmt.Errorf("%w: a public key is %d hex digits, got %d characters", errBadKey, 2*envelope.KeySize, len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("%w: a public key is made of hex digits only", errBadKey)
	}
	return k, nil
}

var errBadKey = errors.New("malformed public key")

// shortHex abbreviates a long hex string: its first 8 and last 4 digits.
func shortHex(s string) string {
	if len(s) <= 16 {
		return s
	}
	return s[:8] + "…" + s[len(s)-4:]
}

// cleanText makes untrusted text one safe line of at most n bytes:
// tabs and what charset.DisplayRune changes become spaces or go (bidi
// controls), and html/template escapes the rest.
func cleanText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		return charset.DisplayRune(r)
	}, s)
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return strings.TrimSpace(s)
}

// formatTime prints an absolute time, for title attributes.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

// ago prints how long ago t was, or how long until it is.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	suffix, prefix := " ago", ""
	if d < 0 {
		d, suffix, prefix = -d, "", "in "
	}
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return prefix + fmt.Sprintf("%d s", int(d/time.Second)) + suffix
	case d < time.Hour:
		return prefix + fmt.Sprintf("%d min", int(d/time.Minute)) + suffix
	case d < 48*time.Hour:
		return prefix + fmt.Sprintf("%d h", int(d/time.Hour)) + suffix
	}
	return prefix + fmt.Sprintf("%d d", int(d/(24*time.Hour))) + suffix
}
