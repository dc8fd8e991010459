package gateway_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/toxmail/toxmail/gateway"
)

// A wrong token is answered late, later for each one in a row, and wrong
// tokens sent at once are answered one after another; the right token is
// accepted at once whatever came before (everything local shares
// 127.0.0.1, so one stray wrong token must not lock the user out).
func TestDashboardLoginThrottle(t *testing.T) {
	const delay = 100 * time.Millisecond
	f := newDashFixture(t, func(c *gateway.DashboardConfig) { c.AuthFailureDelay = delay; c.Now = time.Now })
	c := f.client()
	c.get("/login")
	try := func(token string) (int, time.Duration) {
		start := time.Now()
		resp, _ := c.post("/login", url.Values{"csrf": {c.csrf}, "token": {token}})
		return resp.StatusCode, time.Since(start)
	}
	if got, took := try("wrong"); got != http.StatusUnauthorized || took < delay {
		t.Fatalf("wrong token: got %d after %v, want 401 after at least %v", got, took, delay)
	}
	if got, _ := try(dashToken); got != http.StatusSeeOther {
		t.Fatalf("right token just after a wrong one: got %d, want 303 (logged in)", got)
	}
	c = f.client() // logged out again
	c.get("/login")
	if got, took := try("wrong"); got != http.StatusUnauthorized || took < 2*delay {
		t.Fatalf("second wrong token: got %d after %v, want 401 after at least %v", got, took, 2*delay)
	}

	// The API's bearer token: what `toxmail status` sends right after some
	// other local program sent a wrong one.
	if resp, _ := c.api("GET", "/api/status", "wrong-token", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API, wrong token: got %d, want 401", resp.StatusCode)
	}
	if resp, body := c.api("GET", "/api/status", dashToken, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("API, right token after a wrong one: got %d %s, want 200", resp.StatusCode, body)
	}
}

// Wrong tokens sent at once wait for each other; the right token sent
// meanwhile does not wait for them.
func TestDashboardLoginThrottleParallel(t *testing.T) {
	const delay = 50 * time.Millisecond
	f := newDashFixture(t, func(c *gateway.DashboardConfig) { c.AuthFailureDelay = delay; c.Now = time.Now })
	get := func(token string) (int, error) {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/status", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	start := time.Now()
	type answer struct {
		status int
		at     time.Duration
		err    error
	}
	wrong := make(chan answer, 3)
	for range 3 {
		go func() {
			st, err := get("wrong-token")
			wrong <- answer{st, time.Since(start), err}
		}()
	}
	time.Sleep(10 * time.Millisecond) // the wrong ones are waiting now
	if st, err := get(dashToken); err != nil || st != http.StatusOK {
		t.Fatalf("right token while wrong ones wait: got %d, %v, want 200", st, err)
	}
	var last time.Duration
	for range 3 {
		a := <-wrong
		if a.err != nil || a.status != http.StatusUnauthorized {
			t.Fatalf("wrong token: got %d, %v, want 401", a.status, a.err)
		}
		last = max(last, a.at)
	}
	// 50 + 100 + 200 ms, one after another.
	if want := 7 * delay; last < want {
		t.Errorf("the last of 3 parallel wrong tokens was answered after %v, want at least %v", last, want)
	}
}
