package chaincode

import (
	"errors"
	"slices"
	"testing"

	"github.com/cachetsync/cachet/ledger"
)

// FuzzParseScope: whatever the kind and value, parseScope answers a scope
// or a coded refusal; a scope it accepts is canonical (parsing its value
// again gives it back), and the scope covers the entry at its own value,
// so a purge of it reaches what it names.
func FuzzParseScope(f *testing.F) {
	for _, s := range [][2]string{
		{"tag", "catalog"}, {"tag", "Catalog"}, {"prefix", "https://shop.example/p/"}, {"prefix", "HTTPS://Shop.Example/a/./b/"},
		{"prefix", "https://shop.example/p"}, {"prefix", "img:a/"}, {"prefix", "http://[::1]:8080/x/"}, {"host", "Shop.Example"},
		{"host", "xn--nxasmq6b.example"}, {"host", "bücher.example"}, {"host", "[::1]"}, {"host", "a:80"}, {"origin", "https://shop.example:8443"},
		{"origin", "https://shop.example/p"}, {"path", "x"}, {"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, kind, value string) {
		s, err := parseScope(kind, value)
		if err != nil {
			var le *ledger.Error
			if !errors.As(err, &le) || (le.Code != ledger.CodeInvalidArgument && le.Code != ledger.CodeLimitExceeded) {
				t.Fatalf("parseScope(%q, %q): %v, want a coded refusal", kind, value, err)
			}
			return
		}
		again, err := parseScope(kind, s.Value)
		if err != nil || again != s {
			t.Fatalf("parseScope(%q, %q) = %v, but its value parses to %v, %v", kind, value, s, again, err)
		}
		var key string
		switch s.Kind {
		case ledger.ScopeTag:
			return
		case ledger.ScopeHost:
			key = "https://" + s.Value + "/"
		case ledger.ScopeOrigin:
			key = s.Value + "/"
		case ledger.ScopePrefix:
			key = s.Value
		}
		e := &ledger.Entry{Key: key}
		if !slices.Contains(covering(e), s) {
			t.Fatalf("%v does not cover the key %q it names (covering: %v)", s, key, covering(e))
		}
		if scopeHost(s) != hostOf(key) {
			t.Fatalf("%v is governed by host %q, its key %q by %q", s, scopeHost(s), key, hostOf(key))
		}
	})
}
