package inbox_test

import (
	"fmt"
	"io"
	"log"
	"time"

	"github.com/toxmail/toxmail/inbox"
)

// The mesh delivers opened mail; the POP3 server lists, reads and deletes
// it. A second delivery of the same envelope changes nothing, even after
// the mail was deleted.
func Example() {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	box, err := inbox.Open(inbox.Options{InMemory: true, Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	defer box.Close()

	id := inbox.EnvelopeID{0xc0, 0xff, 0xee}
	meta := inbox.Meta{
		PathLength: 2,
		Created:    now.Add(-time.Hour),
		KeepUntil:  now.Add(7 * 24 * time.Hour), // the envelope's expiry
	}

	// Mesh side: stream the mail in, then commit.
	d, err := box.Begin(id, meta)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.WriteString(d, "Subject: hi\r\n\r\nHello over Tox.\r\n"); err != nil {
		d.Abort()
		log.Fatal(err)
	}
	added, err := d.Commit()
	fmt.Println("added:", added, err)

	// POP3 side: LIST, UIDL, RETR, DELE.
	msgs, _ := box.List()
	for _, m := range msgs {
		fmt.Println(m.Seq, m.Size, m.UID[:12])
	}
	_, body, _ := box.Get(msgs[0].UID)
	fmt.Printf("%q\n", body)
	fmt.Println("delete:", box.Delete(msgs[0].UID))

	// The envelope floods in again through another friend.
	added, err = box.Deliver(id, meta, []byte("a copy"))
	fmt.Println("added again:", added, err)

	// Output:
	// added: true <nil>
	// 1 32 c0ffee000000
	// "Subject: hi\r\n\r\nHello over Tox.\r\n"
	// delete: <nil>
	// added again: false <nil>
}
