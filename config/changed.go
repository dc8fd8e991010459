package config

import "reflect"

// ChangedKeys returns the keys whose values differ between a and b, in
// schema order ("mesh.ttl", "dns.server"); an array of tables counts as
// one key ("tox.bootstrap", "smtp.users"). A running node compares the
// file it started with to the file as it is now, to say which edits wait
// for a restart.
func ChangedKeys(a, b *Config) []string {
	var keys []string
	for _, s := range schema {
		name := func(key string) string {
			if s.name == "" {
				return key
			}
			return s.name + "." + key
		}
		for _, k := range s.knobs {
			if !reflect.DeepEqual(reflect.ValueOf(k.ptr(a)).Elem().Interface(), reflect.ValueOf(k.ptr(b)).Elem().Interface()) {
				keys = append(keys, name(k.key))
			}
		}
		for _, t := range s.tables {
			if !tablesEqual(t, a, b) {
				keys = append(keys, name(t.key))
			}
		}
	}
	return keys
}

func tablesEqual(t table, a, b *Config) bool {
	n := t.len(a)
	if n != t.len(b) {
		return false
	}
	for i := range n {
		for _, f := range t.fields {
			if !reflect.DeepEqual(reflect.ValueOf(f.ptr(a, i)).Elem().Interface(), reflect.ValueOf(f.ptr(b, i)).Elem().Interface()) {
				return false
			}
		}
	}
	return true
}
