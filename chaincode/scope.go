package chaincode

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/ledger"
	"github.com/cachetsync/cachet/record"
)

// Generation records and host claims live in the index namespace too:
// "\x01gen\x00<owner>\x00<kind>:<value>\x00" and "\x01claim\x00\x00<host>\x00".
const (
	generations = "gen"
	claims      = "claim"
)

func generationKey(owner string, s ledger.Scope) string {
	return indexKey(generations, owner, s.String())
}

func claimKey(host string) string { return indexKey(claims, "", host) }

// parseScope validates a scope's kind and value and returns the value in
// its canonical form: a tag as it is, a host as the WHATWG host parser
// serializes it, an origin as scheme://host[:port], a prefix as a canonical
// URL key without a query that ends in '/' at most ledger.MaxPrefixDepth
// segments deep.
func parseScope(kind, value string) (ledger.Scope, error) {
	s := ledger.Scope{Kind: ledger.ScopeKind(kind)}
	switch s.Kind {
	case ledger.ScopeTag:
		if err := cachekey.Tag(value); err != nil {
			return s, invalid(err, "tag scope")
		}
		s.Value = value
	case ledger.ScopeHost:
		h, err := cachekey.ParseHost(value)
		if err != nil {
			return s, invalid(err, "host scope")
		}
		s.Value = h
	case ledger.ScopeOrigin, ledger.ScopePrefix:
		key, err := cachekey.Canonical(value)
		if err != nil {
			return s, invalid(err, "%s scope", kind)
		}
		origin := cachekey.Origin(key)
		switch {
		case origin == "":
			return s, refuse(ledger.CodeInvalidArgument, "%s scope %q is not an http or https URL", kind, value)
		case s.Kind == ledger.ScopeOrigin && key != origin+"/":
			return s, refuse(ledger.CodeInvalidArgument, "origin scope %q has a path or query; an origin is scheme://host[:port]", value)
		case s.Kind == ledger.ScopeOrigin:
			s.Value = origin
		case strings.Contains(key, "?") || !strings.HasSuffix(key, "/"):
			return s, refuse(ledger.CodeInvalidArgument, "prefix scope %q must end in '/' and have no query", value)
		case strings.Count(key[len(origin):], "/") > ledger.MaxPrefixDepth:
			return s, refuse(ledger.CodeLimitExceeded, "prefix scope %q is deeper than %d path segments", value, ledger.MaxPrefixDepth)
		default:
			s.Value = key
		}
	default:
		return s, refuse(ledger.CodeInvalidArgument, "scope kind %q is none of tag, prefix, host, origin", kind)
	}
	return s, nil
}

// hostOf returns the host name of a canonical URL key (no port), "" for an
// opaque key.
func hostOf(key string) string {
	origin := cachekey.Origin(key)
	if origin == "" {
		return ""
	}
	authority := origin[strings.Index(origin, "://")+3:]
	if strings.HasPrefix(authority, "[") { // IPv6: the port follows ']'
		return authority[:strings.IndexByte(authority, ']')+1]
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		return authority[:i]
	}
	return authority
}

// scopeHost returns the host whose claim governs s, "" for a tag.
func scopeHost(s ledger.Scope) string {
	switch s.Kind {
	case ledger.ScopeHost:
		return s.Value
	case ledger.ScopeOrigin, ledger.ScopePrefix:
		return hostOf(s.Value)
	}
	return ""
}

// covering lists, in a fixed order, the scopes whose generations cover an
// entry: each of its tags; for a URL key its host, its origin and each
// path prefix ending in '/' (at most ledger.MaxPrefixDepth). Lookups are
// direct reads of these, bounded by the entry's tags and path depth.
func covering(e *ledger.Entry) []ledger.Scope {
	out := make([]ledger.Scope, 0, len(e.Tags)+4)
	for _, tag := range e.Tags {
		out = append(out, ledger.Scope{Kind: ledger.ScopeTag, Value: tag})
	}
	origin := cachekey.Origin(e.Key)
	if origin == "" {
		return out
	}
	out = append(out, ledger.Scope{Kind: ledger.ScopeHost, Value: hostOf(e.Key)}, ledger.Scope{Kind: ledger.ScopeOrigin, Value: origin})
	path := e.Key[len(origin):]
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for i, depth := 0, 0; i < len(path) && depth < ledger.MaxPrefixDepth; i++ {
		if path[i] == '/' {
			out = append(out, ledger.Scope{Kind: ledger.ScopePrefix, Value: origin + path[:i+1]})
			depth++
		}
	}
	return out
}

// coverage reads, in one round trip, the generation records of the scopes
// covering each entry (under the entry's owner) and returns each entry's
// existing ones, in covering's order.
func (t *txn) coverage(entries []*ledger.Entry) ([][]*ledger.Generation, error) {
	var keys []string
	at := map[string]int{}
	slots := make([][]int, len(entries))
	for i, e := range entries {
		if e == nil {
			continue
		}
		for _, s := range covering(e) {
			k := generationKey(e.Owner, s)
			j, ok := at[k]
			if !ok {
				j = len(keys)
				at[k] = j
				keys = append(keys, k)
			}
			slots[i] = append(slots[i], j)
		}
	}
	out := make([][]*ledger.Generation, len(entries))
	if len(keys) == 0 {
		return out, nil
	}
	vals, err := t.stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, err
	}
	if len(vals) != len(keys) {
		return nil, fmt.Errorf("peer returned %d values for %d keys", len(vals), len(keys))
	}
	gens := make([]*ledger.Generation, len(keys))
	for j, b := range vals {
		if gens[j], err = decodeGeneration(keys[j], b); err != nil {
			return nil, err
		}
	}
	for i, js := range slots {
		for _, j := range js {
			if gens[j] != nil {
				out[i] = append(out[i], gens[j])
			}
		}
	}
	return out, nil
}

func decodeGeneration(key string, b []byte) (*ledger.Generation, error) {
	if b == nil {
		return nil, nil
	}
	var g ledger.Generation
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("generation record %q does not parse: %w", key, err)
	}
	return &g, nil
}

// stamp records on e the generations covering it as it is written, so the
// purges before this write no longer cover it.
func stamp(e *ledger.Entry, gens []*ledger.Generation) {
	e.Generations = nil
	for _, g := range gens {
		if e.Generations == nil {
			e.Generations = make(map[string]uint64, len(gens))
		}
		e.Generations[g.Scope.String()] = g.Generation
	}
}

// effective combines e's own state with the generations covering it that
// are newer than the ones it was written under: a hard purge makes it
// INVALIDATED, soft ones make a VALID entry STALE. The purge named is a
// hard one before a soft one, then the latest by transaction time, then
// the first in covering's order.
func effective(e *ledger.Entry, gens []*ledger.Generation) *ledger.Effective {
	eff := &ledger.Effective{State: e.State}
	for _, g := range gens {
		if g.Generation <= e.Generations[g.Scope.String()] {
			continue
		}
		if eff.Purge == nil || !g.Soft && eff.Purge.Soft || g.Soft == eff.Purge.Soft && later(g.Timestamp, eff.Purge.Timestamp) {
			eff.Purge = g
		}
	}
	switch {
	case eff.Purge == nil:
	case !eff.Purge.Soft:
		eff.State = record.StateInvalidated
	case e.State == record.StateValid:
		eff.State = record.StateStale
	}
	return eff
}

func later(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	return errA == nil && errB == nil && ta.After(tb)
}

// withEffective sets Effective on every entry, reading the generations
// covering them in one round trip.
func (t *txn) withEffective(entries []*ledger.Entry) error {
	cov, err := t.coverage(entries)
	if err != nil {
		return err
	}
	for i, e := range entries {
		if e != nil {
			e.Effective = effective(e, cov[i])
		}
	}
	return nil
}
