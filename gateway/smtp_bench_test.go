package gateway_test

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/mesh"
)

// BenchmarkSMTPSubmit measures mail submission end to end: parallel clients,
// each on its own connection kept across operations, send 10 KiB mails
// (MAIL, RCPT, DATA per op) to a real mesh.Node on a BadgerStore on disk
// with fsync on, and no friend online. One op is one mail durably queued
// (250 received); the mails/s metric is ops per wall-clock second.
func BenchmarkSMTPSubmit(b *testing.B) {
	store, err := mesh.OpenBadgerStore(mesh.BadgerOptions{Dir: b.TempDir(), GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	kp, err := envelope.GenerateKeyPair(nil)
	if err != nil {
		b.Fatal(err)
	}
	network := mesh.NewMemNetwork(mesh.RealClock{}, mesh.MemConfig{})
	node, err := mesh.NewNode(mesh.DefaultConfig(), mesh.Deps{Identity: kp, Transport: network.Transport(kp.Public), Store: store})
	if err != nil {
		b.Fatal(err)
	}
	if err := node.Start(); err != nil {
		b.Fatal(err)
	}
	defer node.Close()

	srv, err := gateway.NewSMTPServer(gateway.SMTPConfig{Users: map[string]string{smtpTestUser: smtpTestHash()}},
		&gateway.Resolver{}, node) // raw Tox IDs only
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()

	friend, _ := envelope.GenerateKeyPair(nil)
	rcpt := gateway.NewToxID(friend.Public, [4]byte{1, 2, 3, 4}).Address()
	msg := benchMail(10 << 10)

	// One authenticated connection per parallel worker, made before the clock runs.
	workers := runtime.GOMAXPROCS(0)
	clients := make(chan *smtp.Client, workers)
	for range workers {
		cl, err := smtp.Dial(l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		if err := cl.Auth(sasl.NewPlainClient("", smtpTestUser, smtpTestPass)); err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		clients <- cl
	}

	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		cl := <-clients
		defer func() { clients <- cl }()
		for pb.Next() {
			if err := sendOne(cl, rcpt, msg); err != nil {
				b.Error(err)
				if cl.Reset() != nil {
					return
				}
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "mails/s")
	if got := len(node.Outbox()); got != b.N {
		b.Fatalf("outbox holds %d mails, want %d", got, b.N)
	}
}

func sendOne(cl *smtp.Client, rcpt string, msg []byte) error {
	if err := cl.Mail("alice@example.org", nil); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	if err := cl.Rcpt(rcpt, nil); err != nil {
		return fmt.Errorf("RCPT: %w", err)
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	return nil
}

// benchMail returns a mail of n bytes: headers and 76-character lines.
func benchMail(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Alice <alice@example.org>\r\nTo: friend@tox\r\nSubject: benchmark\r\n" +
		"Message-ID: <bench@example.org>\r\n\r\n")
	line := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 3)[:76] + "\r\n"
	for b.Len()+len(line) <= n-2 {
		b.WriteString(line)
	}
	b.WriteString(strings.Repeat("x", n-2-b.Len()) + "\r\n")
	return b.Bytes()
}
