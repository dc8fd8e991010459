package demo

import (
	"context"
	"encoding/json"
	"fmt"
)

// HeldNode is how to reach one node of a held demo network.
type HeldNode struct {
	Name      string   `json:"name"`
	ToxID     string   `json:"tox_id"`
	Address   string   `json:"address"` // the mail address to write to
	SMTP      string   `json:"smtp"`
	POP3      string   `json:"pop3"`
	Dashboard string   `json:"dashboard"`
	Token     string   `json:"dashboard_token"`
	User      string   `json:"user"`
	Password  string   `json:"password"`
	Friends   []string `json:"friends"`
}

// hold starts every member, waits until the friendships are up, prints
// how to reach each node, and keeps the network up until ctx ends.
func hold(ctx context.Context, n *network, o Options) error {
	for _, m := range n.members {
		if err := n.start(m); err != nil {
			return err
		}
	}
	s := &story{n: n, o: o, ctx: ctx}
	alice, bob, carol := n.members[0], n.members[1], n.members[2]
	if err := s.wait("the friends to connect", func() bool {
		return meshPeer(alice, bob) && meshPeer(bob, alice) && meshPeer(bob, carol) && meshPeer(carol, bob)
	}); err != nil {
		return err
	}
	friends := map[string][]string{"alice": {"bob"}, "bob": {"alice", "carol"}, "carol": {"bob"}}
	var out struct {
		Nodes []HeldNode `json:"nodes"`
	}
	for _, m := range n.members {
		out.Nodes = append(out.Nodes, HeldNode{
			Name: m.name, ToxID: m.id.String(), Address: m.id.Address(),
			SMTP: m.d.SMTPAddr(), POP3: m.d.POP3Addr(), Dashboard: "http://" + m.d.DashboardAddr() + "/",
			Token: m.cfg.Dashboard.Token, User: m.name, Password: m.password, Friends: friends[m.name],
		})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "%s\n", b)
	fmt.Fprintln(o.Stderr, "demo network up: alice — bob — carol on 127.0.0.1; press Ctrl-C to stop")
	<-ctx.Done()
	return nil
}
