package purgeapi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cachetsync/cachet/cachekey"
)

// Scope grammar (a token holds a list, joined by commas):
//
//	scope  = "purge:" kind | "read" | "prefix:" url | "host:" host | "tag:" tag | "origin:" origin
//	kind   = "keys" | "tags" | "prefixes" | "hosts" | "everything" | "*"
//
// "purge:<kind>" grants every purge of that kind; "purge:*" every purge.
// "prefix:<url>" grants purging keys and prefixes that start with url,
// and reading their entries. "host:<host>" grants keys and prefixes on the
// host (any scheme and port), purging the host, and reading. "tag:<tag>"
// grants purging that tag. "origin:<origin>" grants keys and prefixes on
// the origin, purging everything on it, and reading. "read" grants reading
// every entry and history. Any valid token may read transaction status.
// Values are canonicalized as the ledger does; a value holding a comma
// cannot be written.

// Scope is one parsed grant.
type Scope struct {
	Kind  ScopeKind
	Value string // canonical; the purge kind for ScopePurge; empty for ScopeRead
}

// ScopeKind names the grammar's alternatives.
type ScopeKind string

// Scope kinds.
const (
	ScopePurge  ScopeKind = "purge"
	ScopeRead   ScopeKind = "read"
	ScopePrefix ScopeKind = "prefix"
	ScopeHost   ScopeKind = "host"
	ScopeTag    ScopeKind = "tag"
	ScopeOrigin ScopeKind = "origin"
)

// Purge kinds, the targets of POST /v1/purge.
const (
	PurgeKeys       = "keys"
	PurgeTags       = "tags"
	PurgePrefixes   = "prefixes"
	PurgeHosts      = "hosts"
	PurgeEverything = "everything"
	PurgeAll        = "*" // in scopes only
)

// String is the scope as the grammar writes it.
func (s Scope) String() string {
	if s.Kind == ScopeRead {
		return string(ScopeRead)
	}
	return string(s.Kind) + ":" + s.Value
}

// ScopeReason names why a scope was refused.
type ScopeReason string

// Reasons a scope is refused.
const (
	ScopeEmpty       ScopeReason = "empty"
	ScopeUnknownKind ScopeReason = "unknown-kind"
	ScopeUnknownVerb ScopeReason = "unknown-purge-kind"
	ScopeBadValue    ScopeReason = "bad-value"
)

// ScopeError reports a scope that does not parse.
type ScopeError struct {
	Input  string
	Reason ScopeReason
	Err    error // the value's own error (a *cachekey.Error, a *OriginError), if any
}

func (e *ScopeError) Error() string {
	s := fmt.Sprintf("scope %q: %s", e.Input, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ScopeError) Unwrap() error { return e.Err }

// ParseScopes parses a comma-separated scope list; duplicates are dropped.
func ParseScopes(list string) ([]Scope, error) {
	var out []Scope
	seen := map[Scope]bool{}
	for _, item := range strings.Split(list, ",") {
		s, err := ParseScope(item)
		if err != nil {
			return nil, err
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// ParseScope parses one scope.
func ParseScope(in string) (Scope, error) {
	if in == "" {
		return Scope{}, &ScopeError{Input: in, Reason: ScopeEmpty}
	}
	if in == string(ScopeRead) {
		return Scope{Kind: ScopeRead}, nil
	}
	kind, value, ok := strings.Cut(in, ":")
	if !ok {
		return Scope{}, &ScopeError{Input: in, Reason: ScopeUnknownKind}
	}
	bad := func(err error) (Scope, error) {
		return Scope{}, &ScopeError{Input: in, Reason: ScopeBadValue, Err: err}
	}
	s := Scope{Kind: ScopeKind(kind)}
	var err error
	switch s.Kind {
	case ScopePurge:
		switch value {
		case PurgeKeys, PurgeTags, PurgePrefixes, PurgeHosts, PurgeEverything, PurgeAll:
			s.Value = value
		default:
			return Scope{}, &ScopeError{Input: in, Reason: ScopeUnknownVerb}
		}
	case ScopePrefix:
		s.Value, err = CanonicalPrefix(value)
	case ScopeHost:
		s.Value, err = cachekey.ParseHost(value)
	case ScopeTag:
		s.Value, err = value, cachekey.Tag(value)
	case ScopeOrigin:
		s.Value, err = CanonicalOrigin(value)
	default:
		return Scope{}, &ScopeError{Input: in, Reason: ScopeUnknownKind}
	}
	if err != nil {
		return bad(err)
	}
	return s, nil
}

// OriginError reports a prefix or origin that is not of the form the API
// takes: an http or https URL key, without a query (prefix) or a path (origin).
type OriginError struct {
	Input  string
	Reason string
}

func (e *OriginError) Error() string { return fmt.Sprintf("%q: %s", e.Input, e.Reason) }

// CanonicalPrefix canonicalizes a URL prefix: an http or https URL key with
// no query. "https://shop.example" becomes "https://shop.example/".
func CanonicalPrefix(raw string) (string, error) {
	c, err := cachekey.Canonical(raw)
	if err != nil {
		return "", err
	}
	if !cachekey.IsURL(c) {
		return "", &OriginError{Input: raw, Reason: "a prefix is an http or https URL"}
	}
	if strings.ContainsRune(c, '?') {
		return "", &OriginError{Input: raw, Reason: "a prefix has no query"}
	}
	return c, nil
}

// CanonicalOrigin canonicalizes an origin, scheme://host[:port] with no path.
func CanonicalOrigin(raw string) (string, error) {
	c, err := cachekey.Canonical(raw)
	if err != nil {
		return "", err
	}
	o := cachekey.Origin(c)
	if o == "" || c != o+"/" {
		return "", &OriginError{Input: raw, Reason: "an origin is scheme://host[:port], no path or query"}
	}
	return o, nil
}

// hostOf returns the host of a canonical URL key, without port.
func hostOf(key string) string {
	o := cachekey.Origin(key)
	if o == "" {
		return ""
	}
	h := o[strings.Index(o, "://")+3:]
	if strings.HasPrefix(h, "[") {
		return h[:strings.IndexByte(h, ']')+1]
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	return h
}

// ErrOutOfScope is matched by every *ScopeDeniedError.
var ErrOutOfScope = errors.New("out of scope")

// ScopeDeniedError reports a request the token's scopes do not cover.
type ScopeDeniedError struct {
	Kind   string // the purge kind, or "read"
	Target string // the first target not covered
}

func (e *ScopeDeniedError) Error() string {
	if e.Target == "" {
		return fmt.Sprintf("token may not %s", e.verb())
	}
	return fmt.Sprintf("token may not %s %q", e.verb(), e.Target)
}

func (e *ScopeDeniedError) verb() string {
	if e.Kind == string(ScopeRead) {
		return "read"
	}
	return "purge " + e.Kind
}

// Is makes errors.Is(err, ErrOutOfScope) true.
func (e *ScopeDeniedError) Is(target error) bool { return target == ErrOutOfScope }

// Scopes is a token's grant.
type Scopes []Scope

// AllowPurge checks every canonical target of one purge kind against the
// grant and names the first it does not cover.
func (ss Scopes) AllowPurge(kind string, targets []string) error {
	if ss.has(Scope{Kind: ScopePurge, Value: PurgeAll}) || ss.has(Scope{Kind: ScopePurge, Value: kind}) {
		return nil
	}
	for _, t := range targets {
		if !ss.covers(kind, t) {
			return &ScopeDeniedError{Kind: kind, Target: t}
		}
	}
	return nil
}

// AllowRead checks reading key's entry or history.
func (ss Scopes) AllowRead(key string) error {
	if ss.has(Scope{Kind: ScopeRead}) || ss.covers(PurgeKeys, key) {
		return nil
	}
	return &ScopeDeniedError{Kind: string(ScopeRead), Target: key}
}

func (ss Scopes) has(want Scope) bool {
	for _, s := range ss {
		if s == want {
			return true
		}
	}
	return false
}

// covers reports whether a resource scope covers one target.
func (ss Scopes) covers(kind, t string) bool {
	for _, s := range ss {
		switch {
		case kind == PurgeKeys || kind == PurgePrefixes:
			switch s.Kind {
			case ScopePrefix:
				if strings.HasPrefix(t, s.Value) {
					return true
				}
			case ScopeHost:
				if hostOf(t) == s.Value {
					return true
				}
			case ScopeOrigin:
				if cachekey.Origin(t) == s.Value {
					return true
				}
			}
		case kind == PurgeTags:
			if s.Kind == ScopeTag && s.Value == t {
				return true
			}
		case kind == PurgeHosts:
			if s.Kind == ScopeHost && s.Value == t {
				return true
			}
		case kind == PurgeEverything:
			if s.Kind == ScopeOrigin && s.Value == t {
				return true
			}
		}
	}
	return false
}
