package gateway

// The dashboard's JSON API under /api/, for the CLI ("toxmail status",
// "toxmail contacts approve") and scripts. Keys and IDs are hex (keys and
// Tox IDs upper-case, as Tox clients show them; envelope IDs lower-case),
// times are RFC 3339 in UTC, and an absent time is left out. Errors are
// {"error": "..."} with a status that says what kind of error it is.
//
//	GET    /api/status                   identity, counts, held summary, inbox, mesh counters
//	GET    /api/contacts                 the contacts
//	POST   /api/contacts                 {"name": "...", "id": "<Tox ID or name@domain>"} → 201, the contact
//	DELETE /api/contacts/{name}          name, mail address, public key or Tox ID → 200; also ends the Tox friendship
//	GET    /api/requests                 pending friend requests
//	POST   /api/requests/{key}/approve   → 200
//	POST   /api/requests/{key}/deny      → 200
//	GET    /api/outbox                   sent mail, newest first; ?status=LIST&limit=N&offset=N
//	                                     (the X-Total-Count header is the count before limit and offset)
//	GET    /api/relay                    held summary and mesh counters

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/toxmail/toxmail/mesh"
)

// apiIdentity is the node's identity in /api/status.
type apiIdentity struct {
	Name      string `json:"name"`
	ToxID     string `json:"tox_id"`
	PublicKey string `json:"public_key"`
	Network   string `json:"network,omitempty"` // udp, tcp or none
	// DHTKey and UDPPort let another node bootstrap from this one, until
	// it restarts (the DHT key is new at every start).
	DHTKey  string `json:"dht_key,omitempty"`
	UDPPort uint16 `json:"udp_port,omitempty"`
	TCPPort uint16 `json:"tcp_port,omitempty"` // its TCP relay, if it runs one
}

type apiContact struct {
	Name      string `json:"name,omitempty"`
	Address   string `json:"address,omitempty"`
	ToxID     string `json:"tox_id,omitempty"`
	PublicKey string `json:"public_key"`
	Source    string `json:"source"`
	Online    bool   `json:"online"`
	Kind      string `json:"kind"`
	LastSeen  string `json:"last_seen,omitempty"`
}

type apiRequest struct {
	PublicKey string `json:"public_key"`
	Message   string `json:"message"`
	Received  string `json:"received,omitempty"`
}

type apiOutboxEntry struct {
	ID        string `json:"id"`
	To        string `json:"to"`
	ToName    string `json:"to_name,omitempty"`
	Created   string `json:"created"`
	Expiry    string `json:"expiry"`
	Size      int    `json:"size"`
	Status    string `json:"status"`
	Offered   string `json:"offered,omitempty"`
	Delivered string `json:"delivered,omitempty"`
	Label     string `json:"label,omitempty"`
}

type apiAgeBucket struct {
	Label string `json:"label"`
	Count int    `json:"count"`
	Bytes int64  `json:"bytes"`
}

type apiHeld struct {
	Count int            `json:"count"`
	Bytes int64          `json:"bytes"`
	ByAge []apiAgeBucket `json:"by_age"`
}

type apiCounts struct {
	Contacts int            `json:"contacts"` // in the address book
	Friends  int            `json:"friends"`  // Tox friends not in it (approved requests)
	Online   int            `json:"online"`   // of both, connected now
	Requests int            `json:"requests"`
	Outbox   map[string]int `json:"outbox"` // by status: queued, offered, delivered, expired
}

// apiInbox is how full the inbox is; Quota 0 means no limit. Refusing
// and Short are inbox.Usage's: mail waits with its senders for want of
// Short more bytes of room.
type apiInbox struct {
	Mails    int   `json:"mails"`
	Bytes    int64 `json:"bytes"`
	Quota    int64 `json:"quota"`
	Full     bool  `json:"full"`
	Refusing bool  `json:"refusing"`
	Short    int64 `json:"short_bytes"`
}

type apiStatus struct {
	Identity apiIdentity      `json:"identity"`
	Counts   apiCounts        `json:"counts"`
	Held     apiHeld          `json:"held"`
	Inbox    apiInbox         `json:"inbox"`
	Stats    map[string]int64 `json:"stats"`
}

type apiRelay struct {
	Held  apiHeld          `json:"held"`
	Stats map[string]int64 `json:"stats"`
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeAPIError writes {"error": msg}.
func writeAPIError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// errorStatus classifies a backend error; see ErrNoSuchContact.
func errorStatus(err error) int {
	var re *ResolveError
	switch {
	case errors.Is(err, ErrNoSuchContact), errors.Is(err, ErrNoSuchRequest):
		return http.StatusNotFound
	case errors.Is(err, ErrContactExists), errors.Is(err, ErrContactsLost):
		return http.StatusConflict
	case errors.As(err, &re):
		if re.Temp {
			return http.StatusServiceUnavailable
		}
		return http.StatusBadRequest
	case errors.Is(err, ErrContactInvalid), errors.Is(err, ErrToxIDLength), errors.Is(err, ErrToxIDHex),
		errors.Is(err, ErrToxIDChecksum), errors.Is(err, ErrToxIDKey), errors.Is(err, errBadKey):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

func apiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func apiMillis(ms int64) string {
	if ms == 0 {
		return ""
	}
	return apiTime(time.UnixMilli(ms))
}

func toAPIContact(c DashboardContact) apiContact {
	a := apiContact{Name: c.Name, Address: c.Address, PublicKey: c.Key().String(), Source: c.Source,
		Online: c.Online, Kind: c.Kind, LastSeen: apiTime(c.LastSeen)}
	if !c.ToxID.IsZero() {
		a.ToxID = c.ToxID.String()
	}
	if a.Kind == "" {
		a.Kind = DashboardKindUnknown
	}
	return a
}

func toAPIHeld(h DashboardHeld) apiHeld {
	a := apiHeld{Count: h.Count, Bytes: h.Bytes, ByAge: make([]apiAgeBucket, 0, len(h.ByAge))}
	for _, b := range h.ByAge {
		a.ByAge = append(a.ByAge, apiAgeBucket{Label: b.Label, Count: b.Count, Bytes: b.Bytes})
	}
	return a
}

// apiStats turns mesh.Stats into snake_case keys ("frames_in"), so that a
// counter added to mesh appears without a change here.
func apiStats(st mesh.Stats) map[string]int64 {
	v := reflect.ValueOf(st)
	t := v.Type()
	m := make(map[string]int64, t.NumField())
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			continue
		}
		f := v.Field(i)
		key := strings.ReplaceAll(splitCamel(t.Field(i).Name), " ", "_")
		switch {
		case f.CanInt():
			m[key] = f.Int()
		case f.CanUint():
			m[key] = int64(f.Uint())
		}
	}
	return m
}

func (d *Dashboard) apiStatus(w http.ResponseWriter, r *http.Request, _ *dashSession) {
	id := d.b.Identity()
	contacts := d.b.Contacts()
	st := apiStatus{
		Identity: apiIdentity{Name: id.Name, ToxID: id.ToxID.String(), PublicKey: id.Key().String(), Network: id.Network, UDPPort: id.UDPPort, TCPPort: id.TCPPort},
		Counts: apiCounts{Requests: len(d.b.Requests()),
			Outbox: map[string]int{"queued": 0, "offered": 0, "delivered": 0, "expired": 0}},
		Held:  toAPIHeld(d.b.Held()),
		Stats: apiStats(d.b.Stats()),
	}
	if !id.DHTKey.IsZero() {
		st.Identity.DHTKey = id.DHTKey.String()
	}
	u := d.b.Inbox()
	st.Inbox = apiInbox{Mails: u.Mails, Bytes: u.Bytes, Quota: u.Quota, Full: u.Full(), Refusing: u.Refusing(), Short: u.Short}
	for _, c := range contacts {
		if c.Source == DashboardSourceFriend {
			st.Counts.Friends++
		} else {
			st.Counts.Contacts++
		}
		if c.Online {
			st.Counts.Online++
		}
	}
	for _, o := range d.b.Outbox() {
		st.Counts.Outbox[o.Status.String()]++
	}
	writeJSON(w, http.StatusOK, st)
}

func (d *Dashboard) apiContacts(w http.ResponseWriter, r *http.Request, _ *dashSession) {
	out := []apiContact{}
	for _, c := range d.b.Contacts() {
		out = append(out, toAPIContact(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (d *Dashboard) apiAddContact(w http.ResponseWriter, r *http.Request, _ *dashSession) {
	var req struct {
		Name    string `json:"name"`
		ID      string `json:"id"`
		Address string `json:"address"` // optional, with a Tox ID
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeAPIError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		writeAPIError(w, http.StatusBadRequest, `want a JSON object {"name": "...", "id": "<Tox ID or name@domain>", "address": "<optional name@domain with a Tox ID>"}: `+err.Error())
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		// Anything after the object (a second one, stray bytes) means
		// the client sent something other than what it thinks.
		writeAPIError(w, http.StatusBadRequest, "want one JSON object and nothing after it")
		return
	}
	req.Name, req.ID, req.Address = strings.TrimSpace(req.Name), strings.TrimSpace(req.ID), strings.TrimSpace(req.Address)
	if req.Name == "" || req.ID == "" {
		writeAPIError(w, http.StatusBadRequest, `both "name" and "id" (a Tox ID or name@domain) are required`)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), dashBackendTimeout)
	defer cancel()
	c, err := d.b.AddContact(ctx, req.Name, req.ID, req.Address)
	if err != nil {
		writeAPIError(w, errorStatus(err), errorLine(err))
		return
	}
	d.log.Info("dashboard API: contact added", "key", c.Key().Short(), "source", c.Source)
	writeJSON(w, http.StatusCreated, toAPIContact(c))
}

func (d *Dashboard) apiRemoveContact(w http.ResponseWriter, r *http.Request, _ *dashSession) {
	name := strings.TrimSpace(r.PathValue("name"))
	if err := d.b.RemoveContact(name); err != nil {
		writeAPIError(w, errorStatus(err), errorLine(err))
		return
	}
	d.log.Info("dashboard API: contact removed")
	writeJSON(w, http.StatusOK, map[string]string{"removed": name})
}

func (d *Dashboard) apiRequests(w http.ResponseWriter, r *http.Request, _ *dashSession) {
	out := []apiRequest{}
	for _, q := range d.b.Requests() {
		out = append(out, apiRequest{PublicKey: q.PublicKey.String(), Message: q.Message, Received: apiTime(q.Received)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (d *Dashboard) apiRequest(approve bool) func(http.ResponseWriter, *http.Request, *dashSession) {
	return func(w http.ResponseWriter, r *http.Request, _ *dashSession) {
		key, err := parseKeyHex(r.PathValue("key"))
		if err == nil {
			err = d.decide(key, approve)
		}
		if err != nil {
			writeAPIError(w, errorStatus(err), errorLine(err))
			return
		}
		status := "denied"
		if approve {
			status = "approved"
		}
		writeJSON(w, http.StatusOK, map[string]string{"public_key": key.String(), "status": status})
	}
}

func (d *Dashboard) apiRelay(w http.ResponseWriter, r *http.Request, _ *dashSession) {
	writeJSON(w, http.StatusOK, apiRelay{Held: toAPIHeld(d.b.Held()), Stats: apiStats(d.b.Stats())})
}
