package push

import (
	"encoding/json"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
	"github.com/cachetsync/cachet/telemetry"
)

// purgeFrame is the purge frame's JSON: the generation record and the
// position, without the record's schema version and channel (as
// transitionFrame).
type purgeFrame struct {
	T   string `json:"t"`
	Pos string `json:"pos"`
	record.Generation
	V       int    `json:"v,omitempty"`
	Channel string `json:"channel,omitempty"`
}

// encodePurgeBody encodes everything of the frame after the position.
func encodePurgeBody(g record.Generation) []byte {
	b, _ := json.Marshal(purgeFrame{T: TypePurge, Generation: g})
	const prefix = `{"t":"purge","pos":""`
	return b[len(prefix):]
}

// purgeChannels returns the channels a scope purge is published on, and
// the host whose origin channels (http or https, any port) all get it:
// a host scope's host, or anyOrigin for a tag scope, whose entries may be
// on any origin (the record names the tag, not the keys it covers).
func purgeChannels(s record.Scope) (chans []string, host string) {
	switch s.Kind {
	case record.ScopeTag:
		return []string{"tag:" + s.Value}, anyOrigin
	case record.ScopeOrigin:
		return []string{"origin:" + s.Value}, ""
	case record.ScopePrefix:
		if o := cachekey.Origin(s.Value); o != "" {
			return []string{"origin:" + o}, ""
		}
	case record.ScopeHost:
		return nil, s.Value
	}
	return nil, ""
}

// anyOrigin, as an item's host, puts it on every origin channel.
const anyOrigin = "*"

// onOrigin reports whether a purge for host (a host name, anyOrigin or "")
// reaches channel ch.
func onOrigin(host, ch string) bool {
	if host == "" {
		return false
	}
	h := originHost(ch)
	return h != "" && (host == anyOrigin || h == host)
}

// originHost is the host name (no port) of an http or https origin
// channel; "" for any other channel.
func originHost(ch string) string {
	var rest string
	switch {
	case strings.HasPrefix(ch, "origin:https://"):
		rest = ch[len("origin:https://"):]
	case strings.HasPrefix(ch, "origin:http://"):
		rest = ch[len("origin:http://"):]
	default:
		return ""
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i:], "]") {
		rest = rest[:i]
	}
	return rest
}

// decode turns the record at (part, off) into an item: a transition below
// h.purgesFrom, a scope purge from it on.
func (h *hub) decode(part int32, off int64, value []byte) (*item, error) {
	it, span, err := h.decodeTraced(part, off, value, "")
	if err == nil {
		span.End()
	}
	return it, err
}

// decodeTraced is decode that also starts the push.fanout span, a child of
// traceparent (the record's header) or of the record's own traceparent.
func (h *hub) decodeTraced(part int32, off int64, value []byte, traceparent string) (*item, trace.Span, error) {
	var at kafka.TopicPartition // where the record was read, when known
	if part >= 0 && int(part) < len(h.parts) {
		at = h.parts[part]
		at.Offset = off
	}
	if part >= h.purgesFrom {
		g, err := record.DecodeGeneration(value)
		if err != nil {
			return nil, nil, err
		}
		scope := g.Scope.String()
		span := startFanout(&g.Traceparent, traceparent, at, scope, attribute.String("cachet.scope", scope),
			attribute.Int64("cachet.generation", int64(g.Generation)))
		chans, host := purgeChannels(g.Scope)
		return &item{part: part, off: off, t: TypePurge, channels: chans, host: host, body: encodePurgeBody(g), ts: g.Timestamp}, span, nil
	}
	tr, err := record.DecodeTransition(value)
	if err != nil {
		return nil, nil, err
	}
	span := startFanout(&tr.Traceparent, traceparent, at, tr.Key, telemetry.AttrCacheKey.String(tr.Key),
		telemetry.AttrCacheVersion.Int64(int64(tr.Version)), attribute.String("cache.state", string(tr.State)))
	return &item{part: part, off: off, t: TypeTransition, channels: channelsOf(tr), body: encodeTransitionBody(tr), ts: tr.Timestamp}, span, nil
}
