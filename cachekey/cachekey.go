// Package cachekey turns what a user or a browser calls a cached resource into
// the one canonical key the ledger, the daemons and the browser SDK agree on.
//
// Two forms are accepted:
//
//   - URL keys (http and https only): what the WHATWG URL Standard parses
//     the input to, with the differences listed in the one table in
//     docs/cache-keys.md. ParseHost is the standard's host parser (IDNA to
//     ASCII, every IPv4 number form, IPv6 compression); the path is split at
//     '/' and '\', dot segments are resolved and the standard's
//     percent-encode sets applied. Cachet then drops the fragment, sorts the
//     query pairs (by name, then by the whole pair), upper-cases escapes and
//     decodes escaped unreserved characters, and refuses userinfo, controls
//     and spaces, stray '%' and port 0.
//   - Opaque keys "namespace:name", where the namespace is 1–32 characters of
//     [a-z0-9-] starting with a letter. The name is kept byte for byte.
//
// The algorithm is mirrored in the TypeScript SDK; both implementations must
// pass the golden vectors in testdata/cachekey/vectors.json, and the tests
// run the web-platform-tests URL vectors (testdata/url) through both.
package cachekey

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on keys, in bytes.
const (
	// MaxInputBytes bounds what Canonical reads before any work.
	MaxInputBytes = 2048
	// MaxKeyBytes bounds a canonical key.
	MaxKeyBytes = 1024
	// MaxNamespaceBytes bounds the namespace of an opaque key.
	MaxNamespaceBytes = 32
)

// Reason names why a key was refused. The values are stable: they appear in
// golden vectors, in chaincode errors and in the SDK.
type Reason string

// Reasons a key can be refused.
const (
	ReasonEmpty        Reason = "empty"
	ReasonTooLong      Reason = "too-long"
	ReasonInvalidUTF8  Reason = "invalid-utf8"
	ReasonLeadingNUL   Reason = "leading-nul"
	ReasonControl      Reason = "control-or-space"
	ReasonScheme       Reason = "unsupported-scheme"
	ReasonNamespace    Reason = "bad-namespace"
	ReasonEmptyName    Reason = "empty-name"
	ReasonUserinfo     Reason = "userinfo"
	ReasonHost         Reason = "bad-host"
	ReasonPort         Reason = "bad-port"
	ReasonPercent      Reason = "bad-percent-escape"
	ReasonMissingColon Reason = "no-namespace"
)

// Error reports a key that cannot be canonicalized.
type Error struct {
	Input  string // the offending input, truncated to 64 bytes
	Reason Reason
	Detail string // optional, human-readable
	Err    error  // the cause, if any (a *HostError for ReasonHost)
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("invalid cache key %q: %s", e.Input, e.Reason)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap returns the cause, so errors.As finds a *HostError.
func (e *Error) Unwrap() error { return e.Err }

func fail(input string, r Reason, detail string) error {
	return failWith(input, r, detail, nil)
}

func failWith(input string, r Reason, detail string, cause error) error {
	if len(input) > 64 {
		input = strings.ToValidUTF8(input[:64], "") + "…"
	}
	return &Error{Input: input, Reason: r, Detail: detail, Err: cause}
}

// Canonical returns the canonical form of raw, or an *Error.
func Canonical(raw string) (string, error) {
	switch {
	case raw == "":
		return "", fail(raw, ReasonEmpty, "")
	case len(raw) > MaxInputBytes:
		return "", fail(raw, ReasonTooLong, fmt.Sprintf("%d bytes, limit %d", len(raw), MaxInputBytes))
	case !utf8.ValidString(raw):
		return "", fail(raw, ReasonInvalidUTF8, "")
	case raw[0] == 0:
		return "", fail(raw, ReasonLeadingNUL, "reserved for composite keys")
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return "", fail(raw, ReasonControl, fmt.Sprintf("byte 0x%02x at %d", c, i))
		}
	}
	var (
		key string
		err error
	)
	if scheme, rest, ok := splitScheme(raw); ok {
		key, err = canonicalURL(raw, scheme, rest)
	} else {
		key, err = canonicalOpaque(raw)
	}
	if err != nil {
		return "", err
	}
	if len(key) > MaxKeyBytes {
		return "", fail(raw, ReasonTooLong, fmt.Sprintf("canonical form is %d bytes, limit %d", len(key), MaxKeyBytes))
	}
	return key, nil
}

// IsURL reports whether a canonical key is a URL key.
func IsURL(key string) bool {
	return strings.HasPrefix(key, "http://") || strings.HasPrefix(key, "https://")
}

// Origin returns the scheme://host[:port] of a canonical URL key, or "" for
// opaque keys. Push channels are named after it.
func Origin(key string) string {
	if !IsURL(key) {
		return ""
	}
	start := strings.Index(key, "://") + 3
	if i := strings.IndexByte(key[start:], '/'); i >= 0 {
		return key[:start+i]
	}
	return key
}

// splitScheme recognizes a URL key: an http or https scheme (any case)
// followed by ':', or any RFC 3986 scheme followed by "://".
func splitScheme(raw string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(raw, ':')
	if i <= 0 {
		return "", "", false
	}
	for j := 0; j < i; j++ {
		c := raw[j]
		alpha := c|0x20 >= 'a' && c|0x20 <= 'z'
		if !(alpha || (j > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.'))) {
			return "", "", false
		}
	}
	scheme = strings.ToLower(raw[:i])
	if scheme != "http" && scheme != "https" && !strings.HasPrefix(raw[i:], "://") {
		return "", "", false
	}
	return scheme, raw[i+1:], true
}

func canonicalOpaque(raw string) (string, error) {
	i := strings.IndexByte(raw, ':')
	if i < 0 {
		return "", fail(raw, ReasonMissingColon, `want "namespace:name" or an http(s) URL`)
	}
	ns := raw[:i]
	if ns == "" || len(ns) > MaxNamespaceBytes || !(ns[0] >= 'a' && ns[0] <= 'z') {
		return "", fail(raw, ReasonNamespace, "1-32 of [a-z0-9-], starting with a letter")
	}
	for j := 1; j < len(ns); j++ {
		if c := ns[j]; !(c >= 'a' && c <= 'z' || isDigit(c) || c == '-') {
			return "", fail(raw, ReasonNamespace, "1-32 of [a-z0-9-], starting with a letter")
		}
	}
	if i == len(raw)-1 {
		return "", fail(raw, ReasonEmptyName, "")
	}
	return raw, nil
}

func canonicalURL(raw, scheme, rest string) (string, error) {
	var defaultPort string
	switch scheme {
	case "http":
		defaultPort = "80"
	case "https":
		defaultPort = "443"
	default:
		return "", fail(raw, ReasonScheme, "only http and https")
	}
	// Special schemes ignore any run of '/' and '\' before the authority.
	rest = strings.TrimLeft(rest, `/\`)
	end := strings.IndexAny(rest, `/\?#`)
	if end < 0 {
		end = len(rest)
	}
	authority, rest := rest[:end], rest[end:]
	if strings.IndexByte(authority, '@') >= 0 {
		return "", fail(raw, ReasonUserinfo, "credentials do not belong in a cache key")
	}
	host, port, err := splitHostPort(raw, authority)
	if err != nil {
		return "", err
	}
	if port == defaultPort {
		port = ""
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	path, query := rest, ""
	hasQuery := false
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		path, query, hasQuery = rest[:i], rest[i+1:], true
	}
	path, err = canonicalPath(raw, path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(raw))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	b.WriteString(path)
	if hasQuery {
		q, err := sortQuery(raw, query)
		if err != nil {
			return "", err
		}
		if q != "" {
			b.WriteByte('?')
			b.WriteString(q)
		}
	}
	return b.String(), nil
}

// splitHostPort splits at the first ':' outside brackets and parses both
// halves as the WHATWG URL Standard does (Cachet also refuses port 0).
func splitHostPort(raw, authority string) (host, port string, err error) {
	host = authority
	hasPort := false
	inBrackets := false
	for i := 0; i < len(authority); i++ {
		switch c := authority[i]; {
		case c == '[':
			inBrackets = true
		case c == ']':
			inBrackets = false
		case c == ':' && !inBrackets:
			host, port, hasPort = authority[:i], authority[i+1:], true
		}
		if hasPort {
			break
		}
	}
	host, err = ParseHost(host)
	if err != nil {
		return "", "", failWith(raw, ReasonHost, err.Error(), err)
	}
	if port != "" {
		for j := 0; j < len(port); j++ {
			if !isDigit(port[j]) {
				return "", "", fail(raw, ReasonPort, "digits only")
			}
		}
		trimmed := strings.TrimLeft(port, "0")
		n, err := strconv.ParseUint(trimmed, 10, 32)
		if trimmed == "" || err != nil || n > 65535 {
			return "", "", fail(raw, ReasonPort, "1-65535")
		}
		port = strconv.FormatUint(n, 10)
	}
	return host, port, nil
}

// canonicalPath parses a path as the WHATWG URL Standard does for special
// schemes ('\' is a separator, dot segments and their %2e forms are
// resolved, bytes in the path percent-encode set are escaped), then applies
// Cachet's escape normalization to every segment.
func canonicalPath(raw, path string) (string, error) {
	if path == "" {
		return "/", nil
	}
	segs := splitAny(path[1:], `/\`)
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch {
		case isDoubleDot(seg):
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case isSingleDot(seg):
			if last {
				out = append(out, "")
			}
		default:
			n, err := normalizeEscapes(raw, seg, inPathSet)
			if err != nil {
				return "", err
			}
			out = append(out, n)
		}
	}
	return "/" + strings.Join(out, "/"), nil
}

func splitAny(s, seps string) []string {
	var parts []string
	for {
		i := strings.IndexAny(s, seps)
		if i < 0 {
			return append(parts, s)
		}
		parts = append(parts, s[:i])
		s = s[i+1:]
	}
}

func isSingleDot(seg string) bool { return seg == "." || strings.EqualFold(seg, "%2e") }
func isDoubleDot(seg string) bool {
	switch strings.ToLower(seg) {
	case "..", ".%2e", "%2e.", "%2e%2e":
		return true
	}
	return false
}

// The WHATWG percent-encode sets, less what Canonical refuses before (C0
// controls, space, DEL) and '#' (the fragment is cut first). Bytes of 0x80
// and above are always escaped.
func inPathSet(c byte) bool  { return strings.IndexByte("\"<>?`{}", c) >= 0 }
func inQuerySet(c byte) bool { return strings.IndexByte("\"<>'", c) >= 0 }

// normalizeEscapes upper-cases percent escapes, decodes escaped unreserved
// characters and percent-encodes bytes in the given set and non-ASCII bytes.
// A '%' that does not start an escape is refused.
func normalizeEscapes(raw, s string, escape func(byte) bool) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", fail(raw, ReasonPercent, fmt.Sprintf("at byte %d", i))
			}
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(upperHex[v>>4])
				b.WriteByte(upperHex[v&15])
			}
			i += 2
		case c >= 0x80 || escape(c):
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func sortQuery(raw, query string) (string, error) {
	parts := strings.Split(query, "&")
	kept := parts[:0]
	for _, p := range parts {
		if p == "" {
			continue
		}
		n, err := normalizeEscapes(raw, p, inQuerySet)
		if err != nil {
			return "", err
		}
		kept = append(kept, n)
	}
	sort.SliceStable(kept, func(i, j int) bool {
		ni, nj := paramName(kept[i]), paramName(kept[j])
		if ni != nj {
			return ni < nj
		}
		return kept[i] < kept[j]
	})
	return strings.Join(kept, "&"), nil
}

func paramName(pair string) string {
	if i := strings.IndexByte(pair, '='); i >= 0 {
		return pair[:i]
	}
	return pair
}

const upperHex = "0123456789ABCDEF"

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }
func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}
func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
}
