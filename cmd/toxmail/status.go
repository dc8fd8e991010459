package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/toxmail/toxmail/internal/bytesize"
	"github.com/toxmail/toxmail/internal/plural"
)

// nodeStatus is the part of GET /api/status that the summary shows.
type nodeStatus struct {
	Identity struct {
		Name    string `json:"name"`
		ToxID   string `json:"tox_id"`
		Network string `json:"network"`
		DHTKey  string `json:"dht_key"`
		UDPPort uint16 `json:"udp_port"`
		TCPPort uint16 `json:"tcp_port"`
	} `json:"identity"`
	Counts struct {
		Contacts int            `json:"contacts"`
		Friends  int            `json:"friends"`
		Online   int            `json:"online"`
		Requests int            `json:"requests"`
		Outbox   map[string]int `json:"outbox"`
	} `json:"counts"`
	Held struct {
		Count int   `json:"count"`
		Bytes int64 `json:"bytes"`
		ByAge []struct {
			Label string `json:"label"`
			Count int    `json:"count"`
			Bytes int64  `json:"bytes"`
		} `json:"by_age"`
	} `json:"held"`
	Inbox struct {
		Mails int   `json:"mails"`
		Bytes int64 `json:"bytes"`
		Quota int64 `json:"quota"`
		Full  bool  `json:"full"`
		// Refusing: a mail waits with its senders for Short more bytes.
		Refusing bool  `json:"refusing"`
		Short    int64 `json:"short_bytes"`
	} `json:"inbox"`
	Stats map[string]int64 `json:"stats"`
}

func runStatus(c *cli, args []string) error {
	f := c.flags("status", "toxmail status [--config FILE] [--json]", `
Asks the running node (through its dashboard API, with the token from the
config) for its state: Tox ID, friends online and speaking the mesh
protocol, the outbox by status, the envelopes held for others, and the
mesh counters.`)
	cfgFlag := f.configFlag()
	asJSON := f.Bool("json", false, "print the node's answer as JSON (GET /api/status)")
	cfg, err := c.parseConfig(f, args, cfgFlag)
	if err != nil {
		return err
	}
	body, err := c.getAPI(cfg, "/api/status")
	if err != nil {
		return err
	}
	var st nodeStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return failf("the node's status is not JSON this toxmail understands (%v); are the node and the CLI the same version?", err)
	}
	if *asJSON {
		_, err := c.stdout.Write(body)
		return err
	}
	writeStatus(c.stdout, &st)
	return nil
}

// writeStatus prints the human summary of a node's status.
func writeStatus(w io.Writer, st *nodeStatus) {
	s := func(k string) int64 { return st.Stats[k] }
	name := st.Identity.Name
	if name == "" {
		name = "(no name)"
	}
	fmt.Fprintf(w, "toxmail node %s\n", name)
	fmt.Fprintf(w, "  Tox ID:    %s\n", st.Identity.ToxID)
	switch st.Identity.Network {
	case "udp", "tcp":
		fmt.Fprintf(w, "  network:   joined (%s)\n", strings.ToUpper(st.Identity.Network))
	case "none":
		fmt.Fprintf(w, "  network:   not connected to the Tox network; if that lasts, check [[tox.bootstrap]] (host, port, public_key, tcp_port)\n")
	}
	if id := st.Identity; id.DHTKey != "" && id.UDPPort != 0 {
		// TOML as it goes into another node's config (indented lines
		// are TOML too).
		fmt.Fprintf(w, "  bootstrap: your other nodes can join through this one, until it restarts (its DHT key is new at each start):\n")
		fmt.Fprintf(w, "             put this in their config, with host the address of this machine as they reach it\n")
		fmt.Fprintf(w, "               [[tox.bootstrap]]\n")
		fmt.Fprintf(w, "               host = \"127.0.0.1\"  # this machine; from another one, its address\n")
		fmt.Fprintf(w, "               port = %d\n", id.UDPPort)
		fmt.Fprintf(w, "               public_key = %q\n", id.DHTKey)
		if id.TCPPort != 0 {
			fmt.Fprintf(w, "               tcp_port = %d\n", id.TCPPort)
		}
	}
	fmt.Fprintf(w, "  contacts:  %d in the address book and %d other %s, %d online; %d friend %s waiting\n",
		st.Counts.Contacts, st.Counts.Friends, plural.Noun(st.Counts.Friends, "friend"), st.Counts.Online,
		st.Counts.Requests, plural.Noun(st.Counts.Requests, "request"))
	fmt.Fprintf(w, "  mesh:      %d friends online, %d of them speaking the mesh protocol (state kept for %d)\n",
		s("online"), s("mesh_peers"), s("peers"))
	var ob []string
	for _, k := range []string{"queued", "offered", "delivered", "expired"} {
		ob = append(ob, fmt.Sprintf("%d %s", st.Counts.Outbox[k], k))
	}
	fmt.Fprintf(w, "  outbox:    %s\n", strings.Join(ob, ", "))
	held := fmt.Sprintf("%d %s for others, %s", st.Held.Count, plural.Noun(st.Held.Count, "envelope"), bytesize.Format(st.Held.Bytes))
	var ages []string
	for _, b := range st.Held.ByAge {
		if b.Count > 0 {
			ages = append(ages, fmt.Sprintf("%s: %d", b.Label, b.Count))
		}
	}
	if len(ages) > 0 {
		held += " (held " + strings.Join(ages, ", ") + ")"
	}
	fmt.Fprintf(w, "  held:      %s\n", held)
	fmt.Fprintf(w, "  mail:      %d of yours held until acked; since the node started, %d submitted and %d delivered to this node\n",
		s("own_held"), s("submitted"), s("delivered"))
	in := st.Inbox
	inbox := fmt.Sprintf("%d %s, %s", in.Mails, plural.Noun(in.Mails, "mail"), bytesize.Format(in.Bytes))
	switch {
	case in.Full:
		inbox += fmt.Sprintf(" of %s: FULL, so mail for you waits with its senders until you delete some (pop3.max_mailbox_bytes)", bytesize.Format(in.Quota))
	case in.Refusing:
		inbox += fmt.Sprintf(" of %s: a mail for you does not fit and waits with its senders until you delete at least %s (pop3.max_mailbox_bytes)", bytesize.Format(in.Quota), bytesize.Format(in.Short))
	case in.Quota > 0 && in.Bytes >= in.Quota-in.Quota/10:
		inbox += fmt.Sprintf(" of %s: nearly full (pop3.max_mailbox_bytes)", bytesize.Format(in.Quota))
	case in.Quota > 0:
		inbox += fmt.Sprintf(" of %s", bytesize.Format(in.Quota))
	}
	fmt.Fprintf(w, "  inbox:     %s\n", inbox)
	fmt.Fprintf(w, "  relaying:  %d relayed, %d duplicates, %d refused, %d evicted, %d over budget, %d expired\n",
		s("relayed"), s("duplicates"), s("refused"), s("evicted"), s("over_budget"), s("expired"))
	fmt.Fprintf(w, "  acks:      %d in, %d out, %d verified, %d forged, %d kept\n",
		s("acks_in"), s("acks_out"), s("acks_verified"), s("acks_forged"), s("acks_kept"))
	fmt.Fprintf(w, "  seen:      %d IDs kept so mail is fetched once, %d forgotten early (mesh.max_seen)\n",
		s("seen_ids"), s("seen_forgotten"))
	fmt.Fprintf(w, "  traffic:   %d frames in (%s), %d out (%s), %d send errors\n",
		s("frames_in"), bytesize.Format(s("bytes_in")), s("frames_out"), bytesize.Format(s("bytes_out")), s("send_errors"))
}
