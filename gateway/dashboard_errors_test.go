package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Errors are one clear line: no chain of DNS and socket errors, and what
// the user typed is shortened, in the page and in the API.
func TestDashboardErrorLines(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	c.login()
	c.post("/contacts", url.Values{"csrf": {c.csrf}, "name": {"carol"}, "id": {"carol@dnsdown.example"}})
	_, body := c.get("/contacts")
	want := "Could not add carol: could not look up carol@dnsdown.example: the DNS server could not be reached " +
		"(connection refused); check dns.server in the config; try again later"
	if !strings.Contains(body, want) {
		t.Errorf("DNS failure: the page does not say %q:\n%s", want, body)
	}
	for _, bad := range []string{"read udp", "127.0.0.1:1", "gateway:", "dns: TXT"} {
		if strings.Contains(body, bad) {
			t.Errorf("DNS failure: the page shows %q", bad)
		}
	}
	resp, apiBody := c.api("POST", "/api/contacts", dashToken, `{"name":"carol","id":"carol@dnsdown.example"}`)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(apiBody, "could not look up carol@dnsdown.example") ||
		strings.Contains(apiBody, "read udp") {
		t.Errorf("API DNS failure: got %d %s", resp.StatusCode, apiBody)
	}

	long := strings.Repeat("n", 3000)
	c.post("/contacts", url.Values{"csrf": {c.csrf}, "name": {long}, "id": {"not-an-id"}})
	_, body = c.get("/contacts")
	if !strings.Contains(body, "Could not add "+strings.Repeat("n", 64)+"…: a Tox ID is 76 hex digits") {
		t.Errorf("long name: no shortened error line:\n%.2000s", body)
	}
	if strings.Contains(body, strings.Repeat("n", 300)) {
		t.Errorf("long name: the page echoes all %d characters", len(long))
	}
	c.post("/contacts/remove", url.Values{"csrf": {c.csrf}, "key": {long}})
	if _, body = c.get("/contacts"); !strings.Contains(body, "Could not remove "+strings.Repeat("n", 64)+"…") ||
		strings.Contains(body, strings.Repeat("n", 300)) {
		t.Errorf("removing a long name: not shortened:\n%.2000s", body)
	}
}
