package gateway

import (
	"bufio"
	"io"
)

// send answers RETR (lines < 0) or TOP: it streams message i from the
// maildrop, dot-stuffed, never holding more than a buffer of it. A failure
// after "+OK" cannot be reported in the protocol, so it ends the session:
// the client sees the response cut off without its terminating line.
func (s *pop3Session) send(i int, lines int64) bool {
	m := s.msgs[i]
	rc, err := s.md.Open(m.uid)
	if err != nil {
		s.log.Error("POP3 cannot open message", "user", pop3Trunc(s.user), "uid", m.uid, "err", err)
		s.replyf("-ERR [SYS/TEMP] cannot read message %d", i+1)
		return true
	}
	defer rc.Close()
	if lines < 0 {
		s.replyf("+OK %d octets", m.size)
	} else {
		s.reply("+OK top of message follows")
	}
	if s.body == nil {
		s.body = bufio.NewReaderSize(rc, pop3BodyBuffer)
	} else {
		s.body.Reset(rc)
	}
	n, err := pop3WriteMessage(s.w, s.body, lines)
	s.body.Reset(nil)
	switch {
	case s.cw.err != nil:
		s.log.Debug("POP3 client went away during a message", "uid", m.uid, "err", s.cw.err)
		return false
	case err != nil:
		s.log.Error("POP3 cannot read message", "user", pop3Trunc(s.user), "uid", m.uid, "err", err)
		return false
	case lines < 0 && n != m.size:
		s.log.Warn("POP3 maildrop served a size other than it listed", "uid", m.uid, "listed", m.size, "served", n)
	}
	return true
}

// pop3WriteMessage copies a message from r to w as the body of a
// multi-line response and writes the terminating line. Lines starting with
// '.' get one more (dot-stuffing); a message whose last line lacks its
// line ending gets CRLF. Lines end at LF: a maildrop should serve CRLF,
// but bare LF must not let a line starting "." through unstuffed.
//
// lines < 0 copies everything. Otherwise it copies the header, the empty
// line after it and then at most lines lines of the body (TOP); a message
// without an empty line is all header.
//
// n is the number of octets of the message read and copied, before
// stuffing. A read error is returned as is; a write error too, and w keeps
// it.
func pop3WriteMessage(w *bufio.Writer, r *bufio.Reader, lines int64) (n int64, err error) {
	atStart, inHeader := true, true
	last := byte('\n')
	for lines != 0 || inHeader {
		chunk, rerr := r.ReadSlice('\n')
		if len(chunk) > 0 {
			if atStart && chunk[0] == '.' {
				if err := w.WriteByte('.'); err != nil {
					return n, err
				}
			}
			complete := chunk[len(chunk)-1] == '\n'
			switch {
			case atStart && inHeader && (len(chunk) == 1 || len(chunk) == 2 && chunk[0] == '\r') && complete:
				inHeader = false // the empty line between header and body
			case complete && !inHeader && lines > 0:
				lines--
			}
			if _, err := w.Write(chunk); err != nil {
				return n, err
			}
			n += int64(len(chunk))
			last, atStart = chunk[len(chunk)-1], complete
		}
		if rerr == bufio.ErrBufferFull {
			continue
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, rerr
		}
	}
	if last != '\n' {
		if _, err := w.WriteString("\r\n"); err != nil {
			return n, err
		}
	}
	_, err = w.WriteString(".\r\n")
	return n, err
}

// pop3CRLFReader serves a stored mail with CRLF line endings, as RFC 1939
// asks: a LF without CR before it becomes CRLF, and a message that does
// not end with a line ending gets one. Mail delivered now has only CRLF
// (canonicalCRLF). Mail stored by earlier versions may hold a lone CR,
// which those versions' From check and X-Toxmail renaming read as part of
// a line: in the header section it is served as a space, so that no
// client sees a header line the check did not see; in the body it becomes
// CRLF. The header section ends at the first empty line.
type pop3CRLFReader struct {
	r         io.Reader
	in        []byte // read buffer
	buf       []byte // normalized bytes
	out       []byte // the part of buf not yet returned
	pendingCR bool   // a CR was read and not yet written
	inHeader  bool   // before the first empty line
	lineEmpty bool   // nothing of the current line written yet
	any       bool   // some byte was read
	eof       bool
}

func newPOP3CRLFReader(r io.Reader) *pop3CRLFReader {
	return &pop3CRLFReader{r: r, in: make([]byte, 16<<10), inHeader: true, lineEmpty: true}
}

func (c *pop3CRLFReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.eof {
			return 0, io.EOF
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	k := copy(p, c.out)
	c.out = c.out[k:]
	return k, nil
}

// endLine writes a line ending; an empty line ends the header section.
func (c *pop3CRLFReader) endLine(out []byte) []byte {
	if c.lineEmpty {
		c.inHeader = false
	}
	c.lineEmpty = true
	return append(out, '\r', '\n')
}

// fill reads once from the source and normalizes what came.
func (c *pop3CRLFReader) fill() error {
	k, err := c.r.Read(c.in)
	if c.buf == nil {
		c.buf = make([]byte, 0, 2*len(c.in)+2) // every byte may gain a CR or LF
	}
	out := c.buf[:0]
	for _, b := range c.in[:k] {
		if c.pendingCR {
			c.pendingCR = false
			switch {
			case b == '\n':
				out = c.endLine(out)
				continue
			case c.inHeader:
				out = append(out, ' ') // a lone CR inside a header line
				c.lineEmpty = false
			default:
				out = c.endLine(out)
			}
		}
		switch b {
		case '\r':
			c.pendingCR = true
		case '\n':
			out = c.endLine(out)
		default:
			out = append(out, b)
			c.lineEmpty = false
		}
	}
	if k > 0 {
		c.any = true
	}
	switch {
	case err == io.EOF:
		c.eof = true
		if c.pendingCR || c.any && !c.lineEmpty {
			out = append(out, '\r', '\n')
		}
		c.pendingCR = false
	case err != nil:
		return err
	}
	c.out = out
	return nil
}
