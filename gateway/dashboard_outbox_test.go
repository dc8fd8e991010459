package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// bigOutbox gives the fixture's backend n sent mails, newest first, whose
// status cycles through delivered, delivered, offered, queued, expired;
// mail i is labelled <m{i}@example.org>.
func bigOutbox(f *dashFixture, n int) {
	now := f.clock.Now()
	cycle := []mesh.Status{mesh.StatusDelivered, mesh.StatusDelivered, mesh.StatusOffered, mesh.StatusQueued, mesh.StatusExpired}
	out := make([]mesh.OutboxEntry, n)
	for i := range out {
		var id envelope.ID
		id[0], id[1] = byte(i>>8), byte(i)
		out[i] = mesh.OutboxEntry{ID: id, To: resolveTestID(0xC0).PublicKey(), Created: now.Add(-time.Duration(i) * time.Minute).UnixMilli(),
			Expiry: now.Add(7 * 24 * time.Hour).Unix(), Size: 1000, Status: cycle[i%len(cycle)], Label: fmt.Sprintf("<m%d@example.org>", i)}
	}
	f.b.mu.Lock()
	f.b.outbox = out
	f.b.mu.Unlock()
}

var outboxRowRe = regexp.MustCompile(`&lt;m(\d+)@example.org&gt;`)

// outboxRows returns the labels' numbers of the rows of an outbox page.
func outboxRows(body string) []string {
	var got []string
	for _, m := range outboxRowRe.FindAllStringSubmatch(body, -1) {
		got = append(got, m[1])
	}
	return got
}

func TestDashboardOutboxPages(t *testing.T) {
	f := newDashFixture(t, nil)
	bigOutbox(f, 250)
	c := f.client()
	c.login()

	for _, tc := range []struct {
		path        string
		first, last string // the rows shown, by label
		rows        int
		want        []string
		not         []string
	}{
		{"/outbox", "0", "99", 100,
			[]string{`content="5"`, "1–100 of 250 · page 1 of 3", `href="/outbox?page=2" rel="next"`, "100 delivered", "50 queued"},
			[]string{`rel="prev"`}},
		{"/outbox?page=2", "100", "199", 100,
			[]string{"101–200 of 250", `href="/outbox" rel="prev"`, `href="/outbox?page=3" rel="next"`, "Older pages do not reload"},
			[]string{`http-equiv="refresh"`}},
		{"/outbox?page=3", "200", "249", 50, []string{"201–250 of 250 · page 3 of 3"}, []string{`rel="next"`}},
		// A page past the end (the outbox shrank since the link was made)
		// shows the last one.
		{"/outbox?page=9", "200", "249", 50, []string{"page 3 of 3"}, nil},
		// Filters: the rows and the pages are those of the status asked
		// for; the counts stay those of the whole outbox.
		{"/outbox?status=expired", "4", "249", 50,
			[]string{"Outbox <span class=\"muted\">· expired", "1–50 of 50 · page 1 of 1", "100 delivered", `href="/outbox">show all 250`}, nil},
	} {
		resp, body := c.get(tc.path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", tc.path, resp.StatusCode)
			continue
		}
		rows := outboxRows(body)
		if len(rows) != tc.rows || rows[0] != tc.first || rows[len(rows)-1] != tc.last {
			t.Errorf("GET %s: %d rows, %v…%v; want %d, %s…%s", tc.path, len(rows), rows[:1], rows[len(rows)-1:], tc.rows, tc.first, tc.last)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %q", tc.path, w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(body, w) {
				t.Errorf("GET %s has %q", tc.path, w)
			}
		}
	}

	// Two statuses, and a page of them: the links keep the filter.
	bigOutbox(f, 600) // 240 queued or offered
	_, body := c.get("/outbox?status=queued,offered")
	if rows := outboxRows(body); len(rows) != 100 || rows[0] != "2" || rows[1] != "3" || rows[2] != "7" {
		t.Errorf("queued or offered: rows %v", rows[:min(3, len(rows))])
	}
	if !strings.Contains(body, "queued or offered") || !strings.Contains(body, `href="/outbox?page=2&amp;status=queued%2Coffered" rel="next"`) {
		t.Errorf("filtered page lacks its heading or its filtered link to the next page:\n%s", body)
	}
	if _, body := c.get("/outbox?status=delivered&page=4"); len(outboxRows(body)) != 40 || !strings.Contains(body, "201–240 of 240 · page 3 of 3") {
		// 240 delivered mails make three pages: page 4 shows the last.
		t.Errorf("delivered, page 4: %d rows", len(outboxRows(body)))
	}

	// The overview's tiles lead to the filtered outbox.
	if _, body := c.get("/"); !strings.Contains(body, `href="/outbox?status=queued,offered"`) || !strings.Contains(body, `href="/outbox?status=expired"`) {
		t.Errorf("overview tiles do not link to the filtered outbox")
	}

	// A filter that takes nothing says so.
	bigOutbox(f, 3) // delivered, delivered, offered
	if _, body := c.get("/outbox?status=expired"); !strings.Contains(body, "No expired mail.") {
		t.Errorf("empty filter result not explained")
	}

	// Bad parameters: a page that says what is wrong, not a 500 or a guess.
	for path, want := range map[string]string{
		"/outbox?page=0":          "pages are numbered from 1",
		"/outbox?page=x":          "no page &#34;x&#34;",
		"/outbox?status=lost":     "unknown status &#34;lost&#34;",
		"/outbox?status=queued,,": "unknown status &#34;&#34;",
	} {
		resp, body := c.get(path)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 400 with %q", path, resp.StatusCode, want)
		}
	}
}

func TestDashboardAPIOutboxPaging(t *testing.T) {
	f := newDashFixture(t, nil)
	bigOutbox(f, 250)
	c := f.client()
	get := func(path string) (*http.Response, []map[string]any) {
		t.Helper()
		resp, body := c.api("GET", path, dashToken, "")
		var out []map[string]any
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatalf("GET %s: %v\n%s", path, err, body)
			}
		}
		return resp, out
	}
	label := func(e map[string]any) string { return e["label"].(string) }

	// Without parameters, everything, as before paging existed.
	if resp, out := get("/api/outbox"); len(out) != 250 || resp.Header.Get("X-Total-Count") != "250" {
		t.Errorf("all: %d entries, X-Total-Count %q", len(out), resp.Header.Get("X-Total-Count"))
	}
	resp, out := get("/api/outbox?offset=240&limit=20")
	if len(out) != 10 || label(out[0]) != "<m240@example.org>" || resp.Header.Get("X-Total-Count") != "250" {
		t.Errorf("offset 240: %d entries, first %v", len(out), out[:min(1, len(out))])
	}
	resp, out = get("/api/outbox?status=expired&limit=3&offset=1")
	if len(out) != 3 || label(out[0]) != "<m9@example.org>" || out[2]["status"] != "expired" || resp.Header.Get("X-Total-Count") != "50" {
		t.Errorf("expired: %d entries, X-Total-Count %q, %v", len(out), resp.Header.Get("X-Total-Count"), out)
	}
	if _, out := get("/api/outbox?offset=1000"); len(out) != 0 || out == nil {
		t.Errorf("offset past the end: %v, want []", out)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "offset=-1", "status=sent"} {
		resp, body := c.api("GET", "/api/outbox?"+q, dashToken, "")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("GET /api/outbox?%s: %d %s", q, resp.StatusCode, body)
		}
	}
}
