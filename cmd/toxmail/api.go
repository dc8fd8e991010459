package main

// A client of the running node's dashboard API (gateway/dashboard_api.go),
// for status and the friend-request commands.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/daemon"
)

// apiTimeout bounds one request to the running node.
const apiTimeout = 15 * time.Second

// apiClient talks to the node configured by cfg.
type apiClient struct {
	base    string // http://HOST:PORT
	token   string
	cfgPath string
	listen  string // dashboard.listen, as the config gives it
	dataDir string
	http    *http.Client
}

func newAPIClient(cfg *config.Config) (*apiClient, error) {
	// The token goes only to our own node: with the node stopped, any
	// local program could listen on its port and collect it. The node
	// holds the data directory's lock while its dashboard listens.
	if _, running := daemon.Running(cfg.DataDir); !running {
		return nil, failf("toxmail is not running; start it with `toxmail run --config %s`", cfg.Path)
	}
	host, port, err := net.SplitHostPort(cfg.Dashboard.Listen)
	if err != nil {
		return nil, failf("dashboard.listen = %q in %s is not HOST:PORT; fix it", cfg.Dashboard.Listen, cfg.Path)
	}
	if port == "0" {
		return nil, failf("dashboard.listen = %q in %s has port 0, so the running node's port is unknown; give it a fixed port",
			cfg.Dashboard.Listen, cfg.Path)
	}
	switch host { // a wildcard listen address is reached on loopback
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return &apiClient{
		base:    "http://" + net.JoinHostPort(host, port),
		token:   cfg.Dashboard.Token,
		cfgPath: cfg.Path,
		listen:  cfg.Dashboard.Listen,
		dataDir: cfg.DataDir,
		http:    &http.Client{Timeout: apiTimeout},
	}, nil
}

// do sends a request to path and returns the body of a 2xx answer. The
// API's errors come back as one line with what to do.
func (a *apiClient) do(ctx context.Context, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, nil)
	if err != nil {
		return nil, fail(err, "")
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			if pid, running := daemon.Running(a.dataDir); running {
				// Its data directory is ours, its dashboard elsewhere.
				return nil, failf("a node (pid %s) runs on %s, but nothing answers at dashboard.listen = %q of %s; "+
					"it was started with another config (check its dashboard.listen), or is still starting (try again in a moment)",
					pid, a.dataDir, a.listen, a.cfgPath)
			}
			return nil, failf("toxmail is not running; start it with `toxmail run --config %s`", a.cfgPath)
		}
		if ctx.Err() != nil {
			return nil, failf("interrupted")
		}
		return nil, fail(err, "is the node at "+a.base+" the one configured in "+a.cfgPath+"?")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fail(err, "try again")
	}
	if resp.StatusCode/100 == 2 {
		return body, nil
	}
	var apiErr struct {
		Error string `json:"error"`
	}
	msg := resp.Status
	if json.Unmarshal(body, &apiErr) == nil && apiErr.Error != "" {
		msg = strings.TrimPrefix(apiErr.Error, "gateway: ")
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return nil, failf("the node refused the dashboard token (%s); the running node must use dashboard.token of %s", msg, a.cfgPath)
	case http.StatusTooManyRequests:
		// Only a wrong token gets this: the right one is always accepted.
		wait := resp.Header.Get("Retry-After")
		if wait == "" {
			wait = "a few"
		}
		return nil, failf("the node refused the dashboard token and is holding back wrong ones for %s s; "+
			"the running node must use dashboard.token of %s", wait, a.cfgPath)
	}
	return nil, &apiError{status: resp.StatusCode, msg: msg}
}

// get decodes the JSON answer of GET path into v.
func (a *apiClient) get(ctx context.Context, path string, v any) error {
	body, err := a.do(ctx, http.MethodGet, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return failf("the node's answer to %s is not what this toxmail expects (%v); are the node and the CLI the same version?", path, err)
	}
	return nil
}

// apiError is a non-2xx answer other than 401.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// escape escapes one path segment.
func escape(s string) string { return url.PathEscape(s) }

// apiFail words an apiError with what to do.
func apiFail(err error, hint string) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return &cliError{code: exitFailure, msg: fmt.Sprintf("%s; %s", oneLine(ae.msg), hint)}
	}
	return err
}

// getAPI asks the running node described by cfg for path (GET).
func (c *cli) getAPI(cfg *config.Config, path string) ([]byte, error) {
	api, err := newAPIClient(cfg)
	if err != nil {
		return nil, err
	}
	body, err := api.do(c.ctx, http.MethodGet, path)
	if err != nil {
		return nil, apiFail(err, "see the node's log")
	}
	return body, nil
}
