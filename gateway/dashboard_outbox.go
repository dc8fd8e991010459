package gateway

// The outbox, as a page and in the API: filtered by status and read a page
// at a time, since a node keeps every sent mail for its lifetime plus the
// outbox retention (30 days by default), which can be thousands.

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/toxmail/toxmail/mesh"
)

const (
	outboxPageSize    = 100  // rows on one outbox page
	apiOutboxMaxLimit = 1000 // the largest ?limit= of GET /api/outbox
)

// outboxStatuses are the statuses a filter may name, in the order the
// outbox page shows them.
var outboxStatuses = []mesh.Status{mesh.StatusQueued, mesh.StatusOffered, mesh.StatusDelivered, mesh.StatusExpired}

// statusFilter is a set of outbox statuses, one bit per mesh.Status;
// the zero value takes all.
type statusFilter uint8

// parseStatusFilter parses ?status=: empty for all, or a comma-separated
// list of queued, offered, delivered and expired.
func parseStatusFilter(s string) (statusFilter, error) {
	var f statusFilter
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	for name := range strings.SplitSeq(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		i := slices.IndexFunc(outboxStatuses, func(st mesh.Status) bool { return st.String() == name })
		if i < 0 {
			return 0, fmt.Errorf("unknown status %q; want a comma-separated list of queued, offered, delivered and expired",
				clipInput(name, dashEchoName))
		}
		f |= 1 << outboxStatuses[i]
	}
	return f, nil
}

// takes reports whether the filter takes status st.
func (f statusFilter) takes(st mesh.Status) bool { return f == 0 || f&(1<<st) != 0 }

// String is the filter as ?status= takes it, "" for all.
func (f statusFilter) String() string {
	var names []string
	for _, st := range outboxStatuses {
		if f != 0 && f.takes(st) {
			names = append(names, st.String())
		}
	}
	return strings.Join(names, ",")
}

// filter returns the entries of out the filter takes, in order.
func (f statusFilter) filter(out []mesh.OutboxEntry) []mesh.OutboxEntry {
	if f == 0 {
		return out
	}
	kept := out[:0:0]
	for _, o := range out {
		if f.takes(o.Status) {
			kept = append(kept, o)
		}
	}
	return kept
}

// outboxCounts counts sent mail by status.
type outboxCounts struct {
	Queued, Offered, Delivered, Expired int
}

func countOutbox(out []mesh.OutboxEntry) outboxCounts {
	var c outboxCounts
	for _, o := range out {
		switch o.Status {
		case mesh.StatusQueued:
			c.Queued++
		case mesh.StatusOffered:
			c.Offered++
		case mesh.StatusDelivered:
			c.Delivered++
		case mesh.StatusExpired:
			c.Expired++
		}
	}
	return c
}

// outboxPageView is the outbox page.
type outboxPageView struct {
	Rows []outboxView
	outboxCounts
	Total        int    // mails in the whole outbox
	Shown        int    // of them, those the filter takes
	Filter       string // the filter's name for the heading, "" for all
	From, To     int    // the rows shown, 1-based; 0 and 0 when none
	Page, Pages  int
	Newer, Older string // links to the pages beside this one, "" at either end
	All          string // the link that drops the filter
}

func (d *Dashboard) outboxPage(w http.ResponseWriter, r *http.Request, s *dashSession) {
	q := r.URL.Query()
	f, err := parseStatusFilter(q.Get("status"))
	if err != nil {
		d.renderError(w, http.StatusBadRequest, "The outbox cannot show this: "+err.Error()+".")
		return
	}
	page, err := queryInt(q, "page", 1, 1, -1)
	if err != nil {
		d.renderError(w, http.StatusBadRequest, "The outbox has no page "+strconv.Quote(clipInput(q.Get("page"), dashEchoName))+"; pages are numbered from 1.")
		return
	}
	data := d.base(s, "Outbox", "outbox")
	out := d.b.Outbox()
	v := &outboxPageView{outboxCounts: countOutbox(out), Total: len(out), Filter: strings.ReplaceAll(f.String(), ",", " or "), All: "/outbox"}
	out = f.filter(out)
	v.Shown = len(out)
	v.Pages = max(1, (len(out)+outboxPageSize-1)/outboxPageSize)
	v.Page = min(page, v.Pages) // a page past the end (the outbox shrank) shows the last
	lo := (v.Page - 1) * outboxPageSize
	hi := min(lo+outboxPageSize, len(out))
	if lo < hi {
		v.From, v.To = lo+1, hi
	}
	v.Rows = d.outboxViews(out[lo:hi], d.b.Contacts())
	link := func(p int) string {
		u := url.Values{}
		if f != 0 {
			u.Set("status", f.String())
		}
		if p > 1 {
			u.Set("page", strconv.Itoa(p))
		}
		if len(u) == 0 {
			return "/outbox"
		}
		return "/outbox?" + u.Encode()
	}
	if v.Page > 1 {
		v.Newer = link(v.Page - 1)
	}
	if v.Page < v.Pages {
		v.Older = link(v.Page + 1)
	}
	// Only the first page reloads itself: on the others, new mail would
	// shift the rows under the reader.
	if v.Page == 1 {
		data.Refresh = 5
	}
	data.Page = v
	d.render(w, http.StatusOK, "outbox", data)
}

// apiOutbox answers GET /api/outbox: sent mail, newest first, filtered by
// ?status= (as the outbox page) and cut by ?offset= and ?limit= (at most
// 1,000; all when absent). X-Total-Count is the count before the cut.
func (d *Dashboard) apiOutbox(w http.ResponseWriter, r *http.Request, _ *dashSession) {
	q := r.URL.Query()
	f, err := parseStatusFilter(q.Get("status"))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, err.Error())
		return
	}
	offset, err := queryInt(q, "offset", 0, 0, -1)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, err := queryInt(q, "limit", -1, 1, apiOutboxMaxLimit)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, err.Error())
		return
	}
	all := f.filter(d.b.Outbox())
	w.Header().Set("X-Total-Count", strconv.Itoa(len(all)))
	all = all[min(offset, len(all)):]
	if limit >= 0 {
		all = all[:min(limit, len(all))]
	}
	names := contactNames(d.b.Contacts())
	out := make([]apiOutboxEntry, 0, len(all))
	for _, o := range all {
		out = append(out, apiOutboxEntry{
			ID: hex.EncodeToString(o.ID[:]), To: o.To.String(), ToName: names[o.To],
			Created: apiMillis(o.Created), Expiry: apiTime(time.Unix(o.Expiry, 0)), Size: o.Size,
			Status: o.Status.String(), Offered: apiMillis(o.Offered), Delivered: apiMillis(o.Delivered), Label: o.Label,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// queryInt reads the integer parameter name of q: def when absent,
// otherwise at least lo and, when hi >= 0, at most hi.
func queryInt(q url.Values, name string, def, lo, hi int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || hi >= 0 && n > hi {
		want := fmt.Sprintf("an integer of at least %d", lo)
		if hi >= 0 {
			want = fmt.Sprintf("an integer from %d to %d", lo, hi)
		}
		return 0, fmt.Errorf("%s=%q: want %s", name, clipInput(s, dashEchoName), want)
	}
	return n, nil
}
