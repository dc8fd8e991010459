package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/foxcpp/go-mockdns"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
)

type resolveExampleLog struct{}

func (resolveExampleLog) Printf(string, ...any) {}

func ExampleResolver() {
	var bobKey, aliceKey envelope.PublicKey
	bobKey[0], aliceKey[0] = 0xB0, 0xA1
	bob := gateway.NewToxID(bobKey, [4]byte{1, 2, 3, 4})
	alice := gateway.NewToxID(aliceKey, [4]byte{5, 6, 7, 8})

	// A DNS server on loopback stands in for the real one (in the CLI:
	// "--dns HOST:PORT", or gateway.SystemResolver(0)).
	srv, err := mockdns.NewServerWithLogger(map[string]mockdns.Zone{
		"alice._tox.example.org.": {TXT: []string{"v=tox1;id=" + alice.String()}},
	}, resolveExampleLog{}, false)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	book, err := gateway.NewContactBook([]gateway.Contact{
		{Name: "bob", Address: "bob@example.org", ID: bob, Source: gateway.SourceToxID},
	})
	if err != nil {
		log.Fatal(err)
	}
	dnsr, err := gateway.NewDNSResolver(srv.LocalAddr().String(), 2*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	cache, err := gateway.NewTXTCache(dnsr, gateway.DefaultDNSCacheConfig())
	if err != nil {
		log.Fatal(err)
	}
	r := &gateway.Resolver{Contacts: book, DNS: cache}

	for _, addr := range []string{
		bob.String() + "@tox", // a raw Tox ID
		"bob",                 // a contact, by name
		"alice@example.org",   // tox1 DNS
		"carol@example.org",   // nowhere
	} {
		res, err := r.Resolve(context.Background(), addr)
		var rerr *gateway.ResolveError
		if errors.As(err, &rerr) {
			code, enh, msg := rerr.SMTPStatus()
			fmt.Printf("%d %d.%d.%d %s\n", code, enh[0], enh[1], enh[2], msg)
			continue
		}
		fmt.Printf("key %s from %s: %s\n", res.Key.Short(), res.Source.Describe(), res.Detail)
	}
	// Output:
	// key B0000000 from raw Tox ID: raw Tox ID in the address, checksum verified
	// key B0000000 from address book: address book entry "bob" <bob@example.org>
	// key A1000000 from tox1 DNS, unauthenticated: TXT alice._tox.example.org, unsigned tox1 record (unauthenticated)
	// 550 5.1.1 unknown recipient: not in the address book and no tox1 DNS record at carol._tox.example.org
}
