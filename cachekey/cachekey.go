// Package cachekey turns what a user or a browser calls a cached resource into
// the one canonical key the ledger, the daemons and the browser SDK agree on.
//
// Two forms are accepted:
//
//   - URL keys (http and https only). The scheme and host are lower-cased, the
//     default port is dropped, percent-escapes are upper-cased and unreserved
//     characters decoded, other bytes outside RFC 3986's path or query sets are
//     percent-encoded, dot segments are resolved, query parameters are sorted
//     (by name, then by the whole pair) and the fragment is dropped.
//     Userinfo and non-ASCII hosts are refused: browsers never send either in
//     a request URL (hosts arrive punycoded).
//   - Opaque keys "namespace:name", where the namespace is 1–32 characters of
//     [a-z0-9-] starting with a letter. The name is kept byte for byte.
//
// The algorithm is mirrored in the TypeScript SDK; both implementations must
// pass the golden vectors in testdata/cachekey/vectors.json.
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
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("invalid cache key %q: %s", e.Input, e.Reason)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

func fail(input string, r Reason, detail string) error {
	if len(input) > 64 {
		input = strings.ToValidUTF8(input[:64], "") + "…"
	}
	return &Error{Input: input, Reason: r, Detail: detail}
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

// splitScheme recognizes "scheme://rest" with an RFC 3986 scheme.
func splitScheme(raw string) (scheme, rest string, ok bool) {
	i := strings.Index(raw, "://")
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
	return strings.ToLower(raw[:i]), raw[i+3:], true
}

func canonicalOpaque(raw string) (string, error) {
	i := strings.IndexByte(raw, ':')
	if i < 0 {
		return "", fail(raw, ReasonMissingColon, `want "namespace:name" or an http(s) URL`)
	}
	ns := raw[:i]
	if ns == "http" || ns == "https" {
		return "", fail(raw, ReasonScheme, "URL keys need \"://\"")
	}
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
	end := strings.IndexAny(rest, "/?#")
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
	path, err = normalizeEscapes(raw, path, false)
	if err != nil {
		return "", err
	}
	path = removeDotSegments(path)
	if path == "" || path[0] != '/' {
		path = "/" + path
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

func splitHostPort(raw, authority string) (host, port string, err error) {
	host = authority
	if strings.HasPrefix(authority, "[") {
		i := strings.IndexByte(authority, ']')
		if i < 0 {
			return "", "", fail(raw, ReasonHost, "unterminated IPv6 literal")
		}
		host, port = authority[:i+1], authority[i+1:]
		if port != "" && port[0] != ':' {
			return "", "", fail(raw, ReasonHost, "junk after IPv6 literal")
		}
		port = strings.TrimPrefix(port, ":")
		for j := 1; j < len(host)-1; j++ {
			if c := host[j] | 0x20; !(isDigit(host[j]) || c >= 'a' && c <= 'f' || host[j] == ':' || host[j] == '.') {
				return "", "", fail(raw, ReasonHost, "bad IPv6 literal")
			}
		}
		if len(host) == 2 {
			return "", "", fail(raw, ReasonHost, "empty IPv6 literal")
		}
	} else if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		host, port = authority[:i], authority[i+1:]
	}
	if host == "" {
		return "", "", fail(raw, ReasonHost, "empty host")
	}
	host = strings.ToLower(host)
	if host[0] != '[' {
		for j := 0; j < len(host); j++ {
			if c := host[j]; !(c >= 'a' && c <= 'z' || isDigit(c) || c == '.' || c == '-' || c == '_') {
				return "", "", fail(raw, ReasonHost, "hosts are ASCII letters, digits, '.', '-' and '_' (punycode IDNs)")
			}
		}
	}
	if port != "" {
		for j := 0; j < len(port); j++ {
			if !isDigit(port[j]) {
				return "", "", fail(raw, ReasonPort, "")
			}
		}
		n, err := strconv.ParseUint(port, 10, 32)
		if err != nil || n == 0 || n > 65535 {
			return "", "", fail(raw, ReasonPort, "1-65535")
		}
		port = strconv.FormatUint(n, 10)
	}
	return host, port, nil
}

// normalizeEscapes upper-cases percent escapes, decodes escaped unreserved
// characters and percent-encodes every byte outside the path (or query) set.
func normalizeEscapes(raw, s string, query bool) (string, error) {
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
		case isUnreserved(c) || isSubDelim(c) || c == ':' || c == '@' || c == '/' || (query && c == '?'):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		}
	}
	return b.String(), nil
}

// removeDotSegments is RFC 3986 section 5.2.4.
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	out := make([]string, 0, strings.Count(in, "/")+1)
	segs := strings.Split(in, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return strings.Join(out, "/")
}

func sortQuery(raw, query string) (string, error) {
	parts := strings.Split(query, "&")
	kept := parts[:0]
	for _, p := range parts {
		if p == "" {
			continue
		}
		n, err := normalizeEscapes(raw, p, true)
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
func isSubDelim(c byte) bool { return strings.IndexByte("!$&'()*+,;=", c) >= 0 }
