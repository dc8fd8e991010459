package gateway

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/toxmail/toxmail/internal/plural"
)

// pop3Command is one parsed command line.
type pop3Command struct {
	name string   // keyword, upper case
	args []string // the arguments, split at spaces
	rest string   // everything after the keyword and its space (PASS)
}

// pop3MaxKeyword is the longest keyword. Arguments have no limit of their
// own: RFC 2449 replaced RFC 1939's 40 characters by the line limit.
const pop3MaxKeyword = 40

// parsePOP3Command parses a command line (without CRLF). Keywords are case
// insensitive; arguments are separated by spaces; control characters are
// refused anywhere.
func parsePOP3Command(line string) (pop3Command, error) {
	if line == "" {
		return pop3Command{}, errors.New("empty command")
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c == 0x7f {
			return pop3Command{}, fmt.Errorf("invalid character %q in command", c)
		}
	}
	name, rest, _ := strings.Cut(line, " ")
	if name == "" {
		return pop3Command{}, errors.New("command starts with a space")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') || i >= pop3MaxKeyword {
			return pop3Command{}, fmt.Errorf("unknown command %s", pop3QuoteArg(name))
		}
	}
	args := strings.FieldsFunc(rest, func(r rune) bool { return r == ' ' })
	return pop3Command{name: strings.ToUpper(name), args: args, rest: rest}, nil
}

// pop3Handler is one command: where it is valid, how many arguments it
// takes and what it does. fn returns false to end the session.
type pop3Handler struct {
	auth, trans bool // valid in AUTHORIZATION, in TRANSACTION
	minArgs     int
	maxArgs     int
	fn          func(*pop3Session, pop3Command) bool
}

var pop3Commands = map[string]pop3Handler{
	"CAPA": {auth: true, trans: true, fn: (*pop3Session).cmdCapa},
	"QUIT": {auth: true, trans: true, fn: (*pop3Session).cmdQuit},
	"USER": {auth: true, minArgs: 1, maxArgs: 1, fn: (*pop3Session).cmdUser},
	"PASS": {auth: true, minArgs: 1, maxArgs: math.MaxInt, fn: (*pop3Session).cmdPass},
	"AUTH": {auth: true, maxArgs: 2, fn: (*pop3Session).cmdAuth},
	"STAT": {trans: true, fn: (*pop3Session).cmdStat},
	"LIST": {trans: true, maxArgs: 1, fn: (*pop3Session).cmdList},
	"UIDL": {trans: true, maxArgs: 1, fn: (*pop3Session).cmdUidl},
	"RETR": {trans: true, minArgs: 1, maxArgs: 1, fn: (*pop3Session).cmdRetr},
	"TOP":  {trans: true, minArgs: 2, maxArgs: 2, fn: (*pop3Session).cmdTop},
	"DELE": {trans: true, minArgs: 1, maxArgs: 1, fn: (*pop3Session).cmdDele},
	"NOOP": {trans: true, fn: (*pop3Session).cmdNoop},
	"RSET": {trans: true, fn: (*pop3Session).cmdRset},
}

// command runs one command line; false ends the session.
func (s *pop3Session) command(line string) bool {
	c, err := parsePOP3Command(line)
	if err != nil {
		return s.badCommand(err.Error())
	}
	h, ok := pop3Commands[c.name]
	if !ok {
		if c.name == "APOP" {
			return s.badCommand("APOP not supported, use USER and PASS")
		}
		return s.badCommand("unknown command " + pop3QuoteArg(c.name))
	}
	switch {
	case s.state == pop3Authorization && !h.auth:
		return s.badCommand(c.name + " not valid before login")
	case s.state == pop3Transaction && !h.trans:
		return s.badCommand(c.name + " not valid after login")
	case len(c.args) < h.minArgs:
		return s.badCommand(c.name + " needs " + pop3ArgNames[c.name])
	case len(c.args) > h.maxArgs:
		return s.badCommand("too many arguments to " + c.name)
	}
	return h.fn(s, c)
}

// pop3ArgNames names the missing arguments in replies.
var pop3ArgNames = map[string]string{
	"USER": "a user name",
	"PASS": "a password",
	"RETR": "a message number",
	"DELE": "a message number",
	"TOP":  "a message number and a number of lines",
}

func (s *pop3Session) cmdCapa(pop3Command) bool {
	// RFC 2449 §5: what AUTHORIZATION offers is listed in both states,
	// so a client needs only one CAPA (USER and AUTH stay refused after
	// login).
	caps := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER",
		"USER", "SASL PLAIN", "IMPLEMENTATION " + s.cfg.Implementation}
	s.multi("+OK capability list follows", caps...)
	return true
}

func (s *pop3Session) cmdQuit(pop3Command) bool {
	if s.state == pop3Authorization {
		s.reply("+OK signing off")
		return false
	}
	// UPDATE: the only place anything is deleted.
	s.state = pop3Update
	var uids []string
	left := 0
	for _, m := range s.msgs {
		if m.deleted {
			uids = append(uids, m.uid)
		} else {
			left++
		}
	}
	if len(uids) > 0 {
		if err := s.md.Delete(uids...); err != nil {
			s.log.Error("POP3 cannot delete messages", "user", pop3Trunc(s.user), "messages", len(uids), "err", err)
			s.reply("-ERR some deleted messages not removed")
			return false
		}
		s.log.Info("POP3 deleted messages", "user", pop3Trunc(s.user), "messages", len(uids))
	}
	// Done with the maildrop: a client may log in again as soon as it
	// reads the reply.
	s.releaseLock()
	if left == 0 {
		s.reply("+OK signing off (maildrop empty)")
	} else {
		s.replyf("+OK signing off (%s left)", plural.Count(left, "message"))
	}
	return false
}

func (s *pop3Session) cmdUser(c pop3Command) bool {
	s.user, s.haveUser = c.args[0], true
	s.reply("+OK send your password")
	return true
}

func (s *pop3Session) cmdPass(c pop3Command) bool {
	if !s.haveUser {
		return s.badCommand("send USER first")
	}
	// RFC 1939: the password is the rest of the line, spaces included.
	return s.login(s.user, c.rest)
}

// cmdAuth is SASL (RFC 5034), mechanism PLAIN (RFC 4616) only. Without
// arguments it lists the mechanisms, as some clients expect.
func (s *pop3Session) cmdAuth(c pop3Command) bool {
	s.haveUser = false
	if len(c.args) == 0 {
		s.multi("+OK", "PLAIN")
		return true
	}
	if !strings.EqualFold(c.args[0], "PLAIN") {
		return s.badCommand("unsupported authentication mechanism " + pop3QuoteArg(c.args[0]))
	}
	var resp string
	if len(c.args) == 2 {
		resp = c.args[1]
	} else {
		// RFC 5034 §4: a client whose initial response would take the
		// command past 255 octets sends it here instead, so this line
		// may be longer than a command.
		s.reply("+ ")
		line, err := s.readLineUpTo(max(s.cfg.MaxLineLength, pop3SASLLineLength))
		if err != nil {
			return s.readFailed(err)
		}
		resp = line
	}
	switch resp {
	case "*":
		s.reply("-ERR authentication cancelled")
		return true
	case "=":
		resp = ""
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		s.reply("-ERR invalid base64 in AUTH response")
		return s.countAuthFailure()
	}
	parts := bytes.Split(raw, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		s.reply("-ERR malformed PLAIN response")
		return s.countAuthFailure()
	}
	authz, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && authz != user {
		// No logging in as someone else. No password is checked, so the
		// limiter's turns are not touched.
		s.log.Info("POP3 login refused: authorization identity differs", "user", logName(user, s.cfg.KnownUser))
		if !s.countAuthFailure() {
			s.reply("-ERR [AUTH] invalid user name or password; too many failures, closing connection")
			return false
		}
		s.reply("-ERR [AUTH] invalid user name or password")
		return true
	}
	return s.login(user, pass)
}

// countAuthFailure counts a malformed login attempt (already answered);
// false once the limit is reached.
func (s *pop3Session) countAuthFailure() bool {
	s.authFails++
	return s.authFails < s.cfg.MaxAuthFailures
}

// message resolves a message-number argument to an index into s.msgs.
// ok is false when it has answered with -ERR; then cont says whether the
// session goes on.
func (s *pop3Session) message(arg string) (i int, ok, cont bool) {
	n, err := pop3Number(arg)
	if err != nil {
		return 0, false, s.badCommand("invalid message number " + pop3QuoteArg(arg))
	}
	if n < 1 || n > uint64(len(s.msgs)) {
		s.replyf("-ERR no such message, only %s in maildrop", plural.Count(len(s.msgs), "message"))
		return 0, false, true
	}
	if s.msgs[n-1].deleted {
		s.replyf("-ERR message %d already deleted", n)
		return 0, false, true
	}
	return int(n - 1), true, true
}

// pop3Number parses a decimal number of digits only; past MaxUint64 it
// returns MaxUint64 (out of every range).
func pop3Number(arg string) (uint64, error) {
	if arg == "" {
		return 0, errors.New("empty number")
	}
	for i := 0; i < len(arg); i++ {
		if arg[i] < '0' || arg[i] > '9' {
			return 0, fmt.Errorf("%q is not a number", arg)
		}
	}
	n, err := strconv.ParseUint(arg, 10, 64)
	if err != nil {
		return math.MaxUint64, nil // all digits: only the range is wrong
	}
	return n, nil
}

// totals returns the number and total size of messages not deleted.
func (s *pop3Session) totals() (count int, size int64) {
	for _, m := range s.msgs {
		if !m.deleted {
			count++
			size += m.size
		}
	}
	return count, size
}

func (s *pop3Session) cmdStat(pop3Command) bool {
	n, size := s.totals()
	s.replyf("+OK %d %d", n, size)
	return true
}

func (s *pop3Session) cmdList(c pop3Command) bool {
	if len(c.args) == 1 {
		i, ok, cont := s.message(c.args[0])
		if ok {
			s.replyf("+OK %d %d", i+1, s.msgs[i].size)
		}
		return cont
	}
	n, size := s.totals()
	s.replyf("+OK %s (%d octets)", plural.Count(n, "message"), size)
	for i, m := range s.msgs {
		if !m.deleted {
			s.replyf("%d %d", i+1, m.size)
		}
	}
	s.reply(".")
	return true
}

func (s *pop3Session) cmdUidl(c pop3Command) bool {
	if len(c.args) == 1 {
		i, ok, cont := s.message(c.args[0])
		if ok {
			s.replyf("+OK %d %s", i+1, s.msgs[i].uid)
		}
		return cont
	}
	s.reply("+OK unique-id listing follows")
	for i, m := range s.msgs {
		if !m.deleted {
			s.replyf("%d %s", i+1, m.uid)
		}
	}
	s.reply(".")
	return true
}

func (s *pop3Session) cmdRetr(c pop3Command) bool {
	i, ok, cont := s.message(c.args[0])
	if !ok {
		return cont
	}
	return s.send(i, -1)
}

func (s *pop3Session) cmdTop(c pop3Command) bool {
	i, ok, cont := s.message(c.args[0])
	if !ok {
		return cont
	}
	n, err := pop3Number(c.args[1])
	if err != nil {
		return s.badCommand("invalid number of lines " + pop3QuoteArg(c.args[1]))
	}
	return s.send(i, int64(min(n, math.MaxInt64)))
}

func (s *pop3Session) cmdDele(c pop3Command) bool {
	i, ok, cont := s.message(c.args[0])
	if ok {
		s.msgs[i].deleted = true
		s.replyf("+OK message %d deleted", i+1)
	}
	return cont
}

func (s *pop3Session) cmdNoop(pop3Command) bool {
	s.reply("+OK")
	return true
}

func (s *pop3Session) cmdRset(pop3Command) bool {
	for i := range s.msgs {
		s.msgs[i].deleted = false
	}
	n, size := s.totals()
	s.replyf("+OK maildrop has %s (%d octets)", plural.Count(n, "message"), size)
	return true
}
