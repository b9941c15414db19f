package cachekey_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cachetsync/cachet/cachekey"
)

// wptCase is one entry of the web-platform-tests URL vectors.
type wptCase struct {
	Input   string  `json:"input"`
	Base    *string `json:"base"`
	Href    string  `json:"href"`
	Failure bool    `json:"failure"`
}

// refusedOnPurpose reads the codes of the "refused" rows of the one table of
// differences in docs/cache-keys.md.
func refusedOnPurpose(t *testing.T) map[string]bool {
	b, err := os.ReadFile(filepath.Join("..", "docs", "cache-keys.md"))
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "| "), "|")
		if strings.TrimSpace(cols[len(cols)-1]) == "refused" {
			codes[strings.Trim(strings.TrimSpace(cols[0]), "`")] = true
		}
	}
	if len(codes) == 0 {
		t.Fatal("docs/cache-keys.md: no refused rows in the table of differences")
	}
	return codes
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// trimURLInput strips leading and trailing C0 controls and spaces and removes
// tabs and newlines, as the URL Standard does before parsing.
func trimURLInput(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	return strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
}

// httpCase reports whether a vector is about an http(s) URL: its result is
// one, or (for failures) its input names http(s) or relies on an http(s) base.
func httpCase(c wptCase) bool {
	isHTTP := func(s string) bool {
		s = strings.ToLower(s)
		return strings.HasPrefix(s, "http:") || strings.HasPrefix(s, "https:")
	}
	if !c.Failure {
		return isHTTP(c.Href)
	}
	in := trimURLInput(c.Input)
	if m := schemeRE.FindString(in); m != "" {
		return isHTTP(m)
	}
	return c.Base != nil && isHTTP(*c.Base)
}

// needsBase reports whether the input is a relative reference resolved
// against the base: no scheme, or the base's special scheme without two
// slashes after it.
func needsBase(c wptCase) bool {
	if c.Base == nil {
		return false
	}
	in := trimURLInput(c.Input)
	m := schemeRE.FindString(in)
	if m == "" {
		return true
	}
	if !strings.EqualFold(m, "http:") && !strings.EqualFold(m, "https:") {
		return false
	}
	if !strings.HasPrefix(strings.ToLower(*c.Base), strings.ToLower(m)) {
		return false
	}
	rest := in[len(m):]
	slash := func(i int) bool { return len(rest) > i && (rest[i] == '/' || rest[i] == '\\') }
	return !(slash(0) && slash(1))
}

// expectedKey applies Cachet's rewrites (the "rewritten" rows of the table)
// to a WHATWG href: fragment dropped, escapes upper-cased and unreserved ones
// decoded, query pairs sorted by name then pair, empty pairs and an empty
// query dropped.
func expectedKey(href string) string {
	href, _, _ = strings.Cut(href, "#")
	pathPart, query, hasQuery := strings.Cut(href, "?")
	out := normEscapes(pathPart)
	if hasQuery {
		var pairs []string
		for _, p := range strings.Split(query, "&") {
			if p != "" {
				pairs = append(pairs, normEscapes(p))
			}
		}
		name := func(p string) string { n, _, _ := strings.Cut(p, "="); return n }
		sort.SliceStable(pairs, func(i, j int) bool {
			if ni, nj := name(pairs[i]), name(pairs[j]); ni != nj {
				return ni < nj
			}
			return pairs[i] < pairs[j]
		})
		if len(pairs) > 0 {
			out += "?" + strings.Join(pairs, "&")
		}
	}
	return out
}

var escapeRE = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)

func normEscapes(s string) string {
	return escapeRE.ReplaceAllStringFunc(s, func(e string) string {
		e = strings.ToUpper(e)
		var v byte
		for _, c := range e[1:] {
			v = v<<4 | byte(strings.IndexRune("0123456789ABCDEF", c))
		}
		if v >= 'a' && v <= 'z' || v >= 'A' && v <= 'Z' || v >= '0' && v <= '9' || strings.IndexByte("-._~", v) >= 0 {
			return string(v)
		}
		return e
	})
}

// TestWPTURLVectors runs every http(s) vector of the web-platform-tests URL
// test data through Canonical. Each lands in exactly one bucket: passed (the
// key is the expected href after Cachet's rewrites), refused (the standard
// fails it and so does Canonical) or a documented difference (a "refused" row
// of the table in docs/cache-keys.md). Anything else fails the test.
func TestWPTURLVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "url", "urltestdata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatal(err)
	}
	documented := refusedOnPurpose(t)
	var total, passed, refused int
	differences := map[string]int{}
	for _, e := range entries {
		if len(e) > 0 && e[0] == '"' {
			continue // a comment line, not a vector
		}
		var c wptCase
		if err := json.Unmarshal(e, &c); err != nil {
			t.Fatal(err)
		}
		if !httpCase(c) {
			continue
		}
		total++
		if !c.Failure && needsBase(c) {
			if !documented["relative"] {
				t.Fatal("docs/cache-keys.md has no refused row for relative references")
			}
			differences["relative"]++
			continue
		}
		key, err := cachekey.Canonical(c.Input)
		var ke *cachekey.Error
		if err != nil && !errors.As(err, &ke) {
			t.Errorf("Canonical(%q): untyped error %v", c.Input, err)
			continue
		}
		switch {
		case c.Failure && err != nil:
			refused++
		case c.Failure:
			t.Errorf("Canonical(%q) = %q; the URL Standard fails it", c.Input, key)
		case err != nil && documented[string(ke.Reason)]:
			differences[string(ke.Reason)]++
		case err != nil:
			t.Errorf("Canonical(%q): %v; the URL Standard gives %q", c.Input, err, c.Href)
		case key != expectedKey(c.Href):
			t.Errorf("Canonical(%q) = %q, want %q (href %q)", c.Input, key, expectedKey(c.Href), c.Href)
		default:
			passed++
		}
	}
	ndiff := 0
	for _, n := range differences {
		ndiff += n
	}
	t.Logf("WPT http(s) vectors: %d = %d passed + %d documented differences %v + %d refused", total, passed, ndiff, differences, refused)
	if total < 400 {
		t.Fatalf("only %d http(s) vectors: urltestdata.json looks truncated", total)
	}
	if !t.Failed() && passed+ndiff+refused != total {
		t.Fatalf("%d vectors in no bucket", total-passed-ndiff-refused)
	}
}
