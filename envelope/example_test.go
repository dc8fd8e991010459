package envelope_test

import (
	"fmt"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// Alice seals a mail to Bob; a relay sees only the header; Bob opens it,
// learns that Alice sent it, and gets the ack to send back.
func Example() {
	alice, _ := envelope.GenerateKeyPair(nil)
	bob, _ := envelope.GenerateKeyPair(nil)
	now := time.Now()

	sealer := envelope.NewKeyring(envelope.Config{Identity: alice})
	env, err := sealer.Seal(envelope.SealParams{
		To: bob.Public, Body: []byte("Subject: hi\r\n\r\nhello\r\n"),
		Created: now, Expiry: now.Add(7 * 24 * time.Hour), Hops: 4,
	})
	if err != nil {
		panic(err)
	}
	wire := env.Encode()

	// A relay: strict header parse and ID, no keys needed.
	h, _ := envelope.ParseHeader(wire)
	fmt.Println("relay sees hops:", h.Hops)

	opener := envelope.NewKeyring(envelope.Config{Identity: bob})
	letter, err := opener.Open(wire, now)
	if err != nil {
		panic(err)
	}
	fmt.Println("from alice:", letter.Sender == alice.Public)
	fmt.Printf("body: %q\n", letter.Body)
	fmt.Println("ack verifies:", letter.Ack.Verify(h.AckHash))
	// Output:
	// relay sees hops: 4
	// from alice: true
	// body: "Subject: hi\r\n\r\nhello\r\n"
	// ack verifies: true
}
