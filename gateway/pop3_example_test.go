package gateway_test

import (
	"crypto/subtle"
	"fmt"
	"log"
	"net"
	"net/textproto"
	"time"

	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
)

// A node serves its inbox over POP3 to the user's mail client. The mail
// was stored with bare LF line endings; the client gets CRLF, and LIST's
// size is what RETR sends.
func ExampleInboxMaildrop() {
	box, err := inbox.Open(inbox.Options{InMemory: true})
	if err != nil {
		log.Fatal(err)
	}
	defer box.Close()
	meta := inbox.Meta{KeepUntil: time.Now().Add(time.Hour)}
	box.Deliver(inbox.EnvelopeID{1}, meta, []byte("Subject: hi\n\nHello over Tox.\n"))

	// One Maildrop per inbox, returned on every login.
	md := gateway.InboxMaildrop(box, nil, nil)
	auth := gateway.POP3AuthFunc(func(user, pass string) (gateway.Maildrop, error) {
		if subtle.ConstantTimeCompare([]byte(user+"\x00"+pass), []byte("alice\x00secret")) != 1 {
			return nil, gateway.ErrPOP3BadCredentials
		}
		return md, nil
	})
	srv, err := gateway.NewPOP3Server(gateway.POP3Config{}, auth)
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()

	c, err := textproto.Dial("tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	say := func(cmd string) string {
		if cmd != "" {
			c.PrintfLine("%s", cmd)
		}
		line, _ := c.ReadLine()
		return line
	}
	fmt.Println(say(""))
	say("USER alice")
	fmt.Println(say("PASS secret"))
	fmt.Println(say("LIST 1"))
	fmt.Println(say("RETR 1"))
	lines, _ := c.ReadDotLines()
	fmt.Printf("%q\n", lines)
	fmt.Println(say("QUIT"))
	// Output:
	// +OK toxmail POP3 server ready
	// +OK maildrop locked and ready, 1 message (32 octets)
	// +OK 1 32
	// +OK 32 octets
	// ["Subject: hi" "" "Hello over Tox."]
	// +OK signing off (1 message left)
}
