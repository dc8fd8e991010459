package config

// Reading toxmail.toml: strict decoding with go-toml, conversion of each
// value through the schema, validation, and errors that point at the line.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/internal/shellquote"
	"github.com/toxmail/toxmail/sim"
)

// Error is one problem in a config file (or, from Validate, in a Config).
//
// Its text is "FILE:LINE: KEY = VALUE: MSG", e.g.
//
//	toxmail.toml:12: mesh.ttl = 300: out of range: want 1..max_hops
//
// or "FILE:LINE: MSG" when there is no value to show (unknown keys; the
// token and password hashes, whose values are never shown and whose
// messages start with the key), or "FILE:LINE:COL: MSG" for TOML syntax
// errors. Parts that are unknown are left out: a Config that came from no
// file has no FILE and no LINE.
type Error struct {
	File   string // the path given to Load or Parse
	Line   int    // 1-based; 0 when the key is not in the file
	Column int    // 1-based, syntax errors only
	// Key is the dotted key, e.g. "mesh.ttl", "tox.bootstrap[0].port"
	// (entries of an array of tables count from 0); for syntax errors,
	// whatever key go-toml was reading, often "".
	Key string
	// Value is the value as written in the file (or, when the key is not
	// in the file, its value followed by " (default)"), "" if none.
	Value string
	// Msg says what is wrong and what is allowed.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	pos := e.File
	if e.Line > 0 {
		if pos == "" {
			pos = "line"
		} else {
			pos += ":"
		}
		pos += strconv.Itoa(e.Line)
		if e.Column > 0 {
			pos += ":" + strconv.Itoa(e.Column)
		}
	}
	if pos != "" {
		b.WriteString(pos + ": ")
	}
	switch {
	case e.Value != "" && (isSecret(e.Key) || looksLikeHash(e.Value)):
		// A secret is never shown, on any path an error takes.
		if !strings.HasPrefix(e.Msg, e.Key) {
			b.WriteString(e.Key + ": ")
		}
	case e.Value != "":
		b.WriteString(e.Key + " = " + e.Value + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrInsecureFile means the config file may be read or written by users
// other than its owner. It holds the dashboard token and the users'
// password hashes, so Load refuses it, like the Tox profile is refused.
var ErrInsecureFile = errors.New("readable or writable by others")

// maxFileSize bounds what Load reads: a config is a few kilobytes.
const maxFileSize = 1 << 20

// Load reads the config file at path, parses it strictly and validates it;
// see Parse. It refuses, with ErrInsecureFile, a file that group or others
// may read or write (chmod 600 fixes it).
func Load(path string) (*Config, error) {
	data, mode, err := readFile(path)
	if err != nil {
		return nil, err
	}
	if err := checkMode(path, mode); err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// LoadSettings is Load without the check of the file's mode, for commands
// that use only settings that are not secret (the simulator's [sim], the
// [dns] of a lookup): refusing those would protect nothing, since the
// file is already readable. Call CheckMode to warn about it.
func LoadSettings(path string) (*Config, error) {
	data, _, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// LoadSim reads the config file at path for the simulator, which uses
// only its [sim] section and applies its own flags over it: the file must
// be readable TOML with known keys and values of the right types, but its
// values are not checked, so that neither a setting of the node (a missing
// dashboard token) nor a [sim] value that a flag replaces refuses it. The
// caller validates Config.Sim once the flags are applied. Like
// LoadSettings, it does not check the file's mode.
func LoadSim(path string) (*Config, error) {
	data, _, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parse(data, path, false)
}

// ErrorAt returns an *Error of the config file at path about key (a
// dotted key, "sim.seeds"): at the key's line and with its value as
// written there, when the file sets it; else with neither.
func ErrorAt(path, key, msg string) *Error {
	e := &Error{File: path, Key: key, Msg: msg}
	data, _, err := readFile(path)
	if err != nil {
		return e
	}
	if l, ok := locate(data)[key]; ok && isKey(key) {
		e.Line, e.Value = l.line, l.raw
		if isSecret(key) {
			e.Value = ""
		}
	}
	return e
}

// CheckMode reports, with ErrInsecureFile, whether the file at path may be
// read or written by group or others; nil when only its owner may.
func CheckMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return checkMode(path, fi.Mode())
}

func checkMode(path string, mode fs.FileMode) error {
	if perm := mode.Perm(); perm&0o077 != 0 {
		return fmt.Errorf("config: %s has mode %04o: %w, but it holds the dashboard token and the password hashes; "+
			"run chmod 600 %s", path, perm, ErrInsecureFile, shellquote.Quote(path))
	}
	return nil
}

// readFile reads a config file and returns its mode, as one open file so
// that the mode is that of the bytes read.
func readFile(path string) ([]byte, fs.FileMode, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("config: %s does not exist; `toxmail init --dir DIR` writes a new one", path)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("config: %w", err)
	}
	if fi.IsDir() {
		return nil, 0, fmt.Errorf("config: %s is a directory, not a config file; give the file in it, e.g. %s",
			path, filepath.Join(path, FileName))
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("config: %s is not a regular file; give the path of toxmail.toml", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("config: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, 0, fmt.Errorf("config: %s is over %d bytes; is it the right file?", path, maxFileSize)
	}
	return data, fi.Mode(), nil
}

// Parse reads a config file's contents; path is the file's name, for
// errors and to resolve a relative data_dir (against the working directory
// when path is ""). Keys absent from the file keep their defaults.
//
// Every problem found is reported, each an *Error, in line order: one
// alone is returned as it is, several are joined with errors.Join (one per
// line of the text; errors.As finds the first). A TOML syntax error stops
// at the first. Besides Validate's checks, Parse insists on a dashboard
// token.
func Parse(data []byte, path string) (*Config, error) { return parse(data, path, true) }

// resolveBeside makes *p, a path the config file at path gives, absolute:
// a relative one is taken from the file's folder (the working directory
// when path is ""). An empty *p stays empty.
func resolveBeside(path string, p *string, key string) error {
	if *p == "" || filepath.IsAbs(*p) {
		return nil
	}
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("config: resolving %s: %w", key, err)
	}
	*p = filepath.Join(base, *p)
	return nil
}

// parse is Parse; with validate false it reports only what stops the file
// being read (syntax, unknown keys, values of the wrong type) and leaves
// the checks of the values to the caller.
func parse(data []byte, path string, validate bool) (*Config, error) {
	doc := reflect.New(fileType)
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(doc.Interface())
	var errs []*Error
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		for i := range strict.Errors {
			errs = append(errs, unknownKey(&strict.Errors[i], data))
		}
	case errors.As(err, &de):
		return nil, decodeError(de, data, path)
	case err != nil:
		return nil, &Error{File: path, Msg: err.Error()}
	}

	errs = append(errs, caseErrors(data)...)

	c := Default()
	c.Path = path
	bad := fill(&c, doc.Elem())
	errs = append(errs, bad...)
	if err := resolveBeside(path, &c.DataDir, "data_dir"); err != nil {
		return nil, err
	}
	// An edge list, as a directory, is named from the file's folder.
	if !sim.IsGenerated(c.Sim.Graph) {
		if err := resolveBeside(path, &c.Sim.Graph, "sim.graph"); err != nil {
			return nil, err
		}
	}
	var checked []*Error
	if validate {
		checked = c.check()
	}
	for _, e := range checked {
		// A value that could not be read kept its default; do not report
		// that default as well.
		if !slices.ContainsFunc(bad, func(b *Error) bool { return b.Key == e.Key }) {
			errs = append(errs, e)
		}
	}
	if validate && c.Dashboard.Token == "" && !slices.ContainsFunc(bad, func(b *Error) bool { return b.Key == "dashboard.token" }) {
		errs = append(errs, &Error{Key: "dashboard.token",
			Msg: "not set: the dashboard needs a login secret; `toxmail init` writes a config with a random one, " +
				fmt.Sprintf("or set one yourself (at least %d random characters)", gateway.DashboardMinTokenLen)})
	}
	if len(errs) == 0 {
		return &c, nil
	}
	locs := locate(data)
	for _, e := range errs {
		e.File = path
		if e.Line != 0 {
			continue
		}
		if l, ok := locs[e.Key]; ok {
			e.Line = l.line
			if isKey(e.Key) {
				e.Value = l.raw
			}
			continue
		}
		if strings.Contains(e.Key, "].") {
			e.Value, e.Msg = "", e.Key+" is missing: "+e.Msg
		} else if e.Value != "" {
			e.Value += " (default)"
		}
		for k := e.Key; k != ""; {
			k = parentKey(k)
			if l, ok := locs[k]; ok {
				e.Line = l.line
				break
			}
		}
	}
	sort.SliceStable(errs, func(i, j int) bool {
		li, lj := errs[i].Line, errs[j].Line
		return li != 0 && (lj == 0 || li < lj)
	})
	return nil, join(redact(errs))
}

// HasSecrets reports whether c holds a secret that others must not read:
// a dashboard token or a password hash (see isSecret).
func (c *Config) HasSecrets() bool {
	return c.Dashboard.Token != "" || slices.ContainsFunc(c.SMTP.Users, func(u User) bool { return u.PasswordHash != "" })
}

// looksLikeHash reports whether v holds a bcrypt hash.
func looksLikeHash(v string) bool {
	return strings.Contains(v, "$2a$") || strings.Contains(v, "$2b$") || strings.Contains(v, "$2y$")
}

// isSecret reports whether key holds a secret, whose value errors never
// show.
func isSecret(key string) bool {
	return key == "dashboard.token" || strings.HasSuffix(key, ".password_hash")
}

// redact drops the values of secret keys from errs, and any value that
// holds a bcrypt hash (one written under the wrong key); their messages
// name the key instead.
func redact(errs []*Error) []*Error {
	for _, e := range errs {
		if isSecret(e.Key) || looksLikeHash(e.Value) {
			e.Value = ""
			if !strings.HasPrefix(e.Msg, e.Key+" ") {
				e.Msg = e.Key + ": " + e.Msg
			}
		}
	}
	return errs
}

// parentKey drops the last part of a dotted key: "tox.bootstrap[1].port"
// gives "tox.bootstrap[1]", then "tox.bootstrap", then "tox", then "".
func parentKey(k string) string {
	if strings.HasSuffix(k, "]") {
		return k[:strings.LastIndexByte(k, '[')]
	}
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}

// isKey reports whether k names a key rather than a section.
func isKey(k string) bool {
	_, ok := keyIndex[k]
	return ok || strings.Contains(k, "].")
}

func join(errs []*Error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	es := make([]error, len(errs))
	for i, e := range errs {
		es[i] = e
	}
	return errors.Join(es...)
}

// fileType is the struct go-toml decodes into, built from the schema: a
// field of type any per key (so that this package, not go-toml, reads each
// value and words the error), a struct per section and a slice of structs
// per array of tables. go-toml's strict mode then reports every key the
// schema lacks.
var fileType = func() reflect.Type {
	anyType := reflect.TypeFor[any]()
	tag := func(key string) reflect.StructTag { return reflect.StructTag(`toml:"` + key + `"`) }
	var top []reflect.StructField
	for _, s := range schema {
		var fields []reflect.StructField
		for _, k := range s.knobs {
			fields = append(fields, reflect.StructField{Name: "K_" + k.key, Type: anyType, Tag: tag(k.key)})
		}
		for _, t := range s.tables {
			var es []reflect.StructField
			for _, f := range t.fields {
				es = append(es, reflect.StructField{Name: "K_" + f.key, Type: anyType, Tag: tag(f.key)})
			}
			fields = append(fields, reflect.StructField{Name: "T_" + t.key, Type: reflect.SliceOf(reflect.StructOf(es)), Tag: tag(t.key)})
		}
		if s.name == "" {
			top = append(top, fields...)
		} else {
			top = append(top, reflect.StructField{Name: "S_" + s.name, Type: reflect.StructOf(fields), Tag: tag(s.name)})
		}
	}
	return reflect.StructOf(top)
}()

// fill sets c from the decoded file: each key present replaces the default.
func fill(c *Config, doc reflect.Value) []*Error {
	var errs []*Error
	for _, s := range schema {
		sv := doc
		if s.name != "" {
			sv = doc.FieldByName("S_" + s.name)
		}
		for _, k := range s.knobs {
			raw := sv.FieldByName("K_" + k.key).Interface()
			if raw == nil {
				continue
			}
			if err := decode(k.ptr(c), raw, k.size, k.rng); err != nil {
				errs = append(errs, &Error{Key: dotted(s.name, k.key), Msg: err.Error()})
			}
		}
		for _, t := range s.tables {
			tv := sv.FieldByName("T_" + t.key)
			if tv.Len() == 0 {
				continue
			}
			t.resize(c, tv.Len())
			for i := range tv.Len() {
				for _, f := range t.fields {
					raw := tv.Index(i).FieldByName("K_" + f.key).Interface()
					if raw == nil {
						continue
					}
					if err := decode(f.ptr(c, i), raw, false, f.rng); err != nil {
						errs = append(errs, &Error{Key: fmt.Sprintf("%s.%s[%d].%s", s.name, t.key, i, f.key), Msg: err.Error()})
					}
				}
			}
		}
	}
	return errs
}

// loc is where a key is in the file, and its value as written.
type loc struct {
	line int
	raw  string
}

// locate maps every dotted key of a (syntactically valid) document to its
// line: "mesh.ttl", "tox.bootstrap[0].port", and sections ("mesh") to their
// header's line.
func locate(data []byte) map[string]loc {
	m := make(map[string]loc)
	var p unstable.Parser
	p.Reset(data)
	line := func(n *unstable.Node) int { return p.Shape(n.Raw).Start.Line }
	// keyOf joins a node's key parts onto prefix, recording the lines of
	// the implicit tables on the way (a.b.c = 1 defines a and a.b).
	keyOf := func(prefix string, n *unstable.Node) (string, int) {
		it := n.Key()
		key, first := prefix, 0
		for it.Next() {
			k := it.Node()
			if first == 0 {
				first = line(k)
			}
			if key != "" {
				if _, ok := m[key]; !ok {
					m[key] = loc{line: first}
				}
				key += "."
			}
			key += string(k.Data)
		}
		return key, first
	}
	var keyval func(prefix string, kv *unstable.Node)
	keyval = func(prefix string, kv *unstable.Node) {
		key, l := keyOf(prefix, kv)
		val := kv.Value()
		m[key] = loc{line: l, raw: rawValue(&p, kv, val)}
		switch val.Kind {
		case unstable.InlineTable:
			for it := val.Children(); it.Next(); {
				keyval(key, it.Node())
			}
		case unstable.Array:
			i := 0
			for it := val.Children(); it.Next(); i++ {
				el := it.Node()
				if el.Kind != unstable.InlineTable {
					continue
				}
				ek := fmt.Sprintf("%s[%d]", key, i)
				m[ek] = loc{line: l}
				for kt := el.Children(); kt.Next(); {
					keyval(ek, kt.Node())
				}
				if kv := el.Child(); kv.Valid() { // the entry's line is its first key's
					if it := kv.Key(); it.Next() {
						m[ek] = loc{line: line(it.Node())}
					}
				}
			}
		}
	}
	prefix := ""
	tables := make(map[string]int)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			key, l := keyOf("", e)
			if _, ok := m[key]; !ok || m[key].raw == "" {
				m[key] = loc{line: l}
			}
			prefix = key
			if strings.HasPrefix(sectionKind(key), "an array") {
				// [tox.bootstrap] for [[tox.bootstrap]]: go-toml takes it
				// as the one entry.
				prefix = key + "[0]"
				m[prefix] = loc{line: l}
			}
		case unstable.ArrayTable:
			key, l := keyOf("", e)
			if _, ok := m[key]; !ok {
				m[key] = loc{line: l}
			}
			prefix = fmt.Sprintf("%s[%d]", key, tables[key])
			tables[key]++
			m[prefix] = loc{line: l}
		case unstable.KeyValue:
			keyval(prefix, e)
		}
	}
	return m
}

// rawValue returns a key-value's value as written, on one line and
// shortened if long.
func rawValue(p *unstable.Parser, kv, val *unstable.Node) string {
	var raw []byte
	if val.Kind != unstable.InlineTable && val.Kind != unstable.Array {
		raw = p.Raw(val.Raw)
	} else if kv.Raw.Length > 0 {
		// The value starts after the "=" that follows the key and runs to
		// the end of the expression (as go-toml's own decoder finds it).
		var last unstable.Range
		for it := kv.Key(); it.Next(); {
			last = it.Node().Raw
		}
		data := p.Data()
		start := int(last.Offset + last.Length)
		end := int(kv.Raw.Offset + kv.Raw.Length)
		if start < end && end <= len(data) {
			raw = bytes.TrimLeft(data[start:end], " \t")
			raw = bytes.TrimLeft(bytes.TrimPrefix(raw, []byte("=")), " \t")
		}
	}
	s := strings.Join(strings.Fields(string(raw)), " ")
	if len(s) > 100 { // a Tox ID fits
		s = s[:97] + "..."
	}
	return s
}

// decodeError turns go-toml's error for a malformed document into an
// *Error: a syntax error with line and column, or a section written as a
// plain value.
func decodeError(de *toml.DecodeError, data []byte, path string) *Error {
	line, col := de.Position()
	key := strings.Join(de.Key(), ".")
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	if sectionKind(key) != "" && strings.HasPrefix(msg, "cannot ") {
		e := &Error{File: path, Line: line, Key: key, Msg: "want " + sectionKind(key)}
		if l, ok := locate(data)[key]; ok && l.raw != "" {
			e.Value = l.raw
		} else {
			e.Msg = key + ": want " + sectionKind(key)
		}
		return e
	}
	return &Error{File: path, Line: line, Column: col, Key: key, Msg: "invalid TOML: " + msg}
}

// sectionKind describes what a section or array of tables key must be, or
// returns "" if key is neither.
func sectionKind(key string) string {
	for _, s := range schema {
		if s.name != "" && s.name == key {
			return "a table: a [" + key + "] section with its keys below it"
		}
		for _, t := range s.tables {
			if s.name+"."+t.key == key {
				return "an array of tables: one [[" + key + "]] section per entry"
			}
		}
	}
	return ""
}

// unknownKey words go-toml's report of a key the schema lacks, with a
// suggestion when one is close.
func unknownKey(de *toml.DecodeError, data []byte) *Error {
	line, _ := de.Position()
	key := strings.Join(de.Key(), ".")
	// go-toml loses the path of a key in an inline table inside an array
	// ("tox.key" for bootstrap = [{key = ...}]): take it from the document.
	if locs := locate(data); strings.Contains(key, ".") {
		if _, ok := locs[key]; !ok {
			last := key[strings.LastIndexByte(key, '.')+1:]
			for k, l := range locs {
				if l.line == line && strings.HasSuffix(k, "."+last) && strings.HasSuffix(parentKey(k), "]") {
					key = stripIndexes(k)
				}
			}
		}
	}
	what := "key " + key
	section := strings.HasSuffix(de.Error(), "missing table")
	if section {
		what = "section [" + key + "]"
	}
	msg := "unknown " + what
	if s := suggest(key); len(s) > 0 {
		if section {
			for i, k := range s {
				switch kind := sectionKind(k); {
				case strings.HasPrefix(kind, "a table"):
					s[i] = "[" + k + "]"
				case kind != "":
					s[i] = "[[" + k + "]]"
				}
			}
		}
		msg += " (did you mean " + orList(s) + "?)"
	}
	return &Error{Line: line, Key: key, Msg: msg}
}

// stripIndexes turns "tox.bootstrap[0].host" into "tox.bootstrap.host".
func stripIndexes(k string) string { return indexes.ReplaceAllString(k, "") }

var indexes = regexp.MustCompile(`\[\d+\]`)

// allKeys lists every dotted key and section of the schema.
func allKeys() []string {
	var all []string
	for _, s := range schema {
		if s.name != "" {
			all = append(all, s.name)
		}
		for _, k := range s.knobs {
			all = append(all, dotted(s.name, k.key))
		}
		for _, t := range s.tables {
			all = append(all, s.name+"."+t.key)
			for _, f := range t.fields {
				all = append(all, s.name+"."+t.key+"."+f.key)
			}
		}
	}
	return all
}

// caseErrors reports keys that differ from the schema's only in case
// ("TTL"), which go-toml would quietly accept.
func caseErrors(data []byte) []*Error {
	known := make(map[string]bool)
	lower := make(map[string]string)
	for _, k := range allKeys() {
		known[k] = true
		lower[strings.ToLower(k)] = k
	}
	var errs []*Error
	for k, l := range locate(data) {
		k = stripIndexes(k)
		want, ok := lower[strings.ToLower(k)]
		if !ok || known[k] || (parentKey(k) != "" && !known[parentKey(k)]) {
			continue // right, unknown (go-toml reports it), or inside a miswritten table
		}
		msg := "unknown key " + k + " (did you mean " + want + "?)"
		if sectionKind(want) != "" {
			msg = "unknown section [" + k + "] (did you mean [" + want + "]?)"
		}
		errs = append(errs, &Error{Line: l.line, Key: k, Msg: msg})
	}
	return errs
}

// suggest returns the known keys closest to an unknown one: the nearest by
// edit distance if it is near enough, else keys of the same table that
// contain it or that it contains, else those with the same last part in
// other tables.
func suggest(key string) []string {
	all := allKeys()
	best, bestD := "", math.MaxInt
	for _, k := range all {
		if d := editDistance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(1, min(3, len(key)/4)) {
		return []string{best}
	}
	last := strings.ToLower(key[strings.LastIndexByte(key, '.')+1:])
	var out []string
	for _, k := range all {
		kl := k[strings.LastIndexByte(k, '.')+1:]
		if parentKey(k) == parentKey(key) && (strings.Contains(kl, last) || strings.Contains(last, kl)) {
			out = append(out, k)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, k := range all {
		if k[strings.LastIndexByte(k, '.')+1:] == last {
			out = append(out, k)
		}
	}
	return out
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent bytes cost 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
