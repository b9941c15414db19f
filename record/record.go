// Package record defines every record Cachet writes to Kafka, once, for all
// daemons: transitions (relay → analytics, push), scope purges
// (generations, TopicPurges), refused transactions (conflicts,
// TopicConflicts: relay → analytics, operators), reads (browsers, via push
// → analytics), advice (analytics → push, operators), the relay's
// positions (relay → relay) and dead letters (relay → operators).
//
// Records are JSON objects with a schema version field "v". Golden encodings
// live in testdata/records/; the TypeScript SDK's decoder passes the same
// files. A decoder refuses a record whose version it does not know with an
// *UnsupportedVersionError rather than guessing.
package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kafka topics.
const (
	TopicTransitions = "cachet.transitions"
	TopicPurges      = "cachet.purges"    // Generation records, keyed by scope
	TopicConflicts   = "cachet.conflicts" // Conflict records, keyed by their first key
	TopicReads       = "cachet.reads"
	TopicAdvice      = "cachet.advice"
	TopicPositions   = "cachet.positions"
	TopicDeadLetter  = "cachet.deadletter"
)

// Kafka header names carried by transition records.
const (
	HeaderTraceparent = "traceparent"
	HeaderChannel     = "cachet-channel"
	HeaderBlock       = "cachet-block"
	HeaderTxIndex     = "cachet-tx-index"
	HeaderOwner       = "cachet-owner"
)

// Version is the schema version every record type is written with.
const Version = 1

// MaxRecordBytes bounds one encoded record; decoders refuse larger input.
const MaxRecordBytes = 64 << 10

// State is the state of a cache entry after a transition.
type State string

// Entry states, as the chaincode writes them.
const (
	StateValid       State = "VALID"
	StateInvalidated State = "INVALIDATED"
	StatePurged      State = "PURGED"
	// StateStale: softly invalidated or purged. A browser may serve its copy
	// once more while it revalidates, never after a revalidation succeeded.
	StateStale State = "STALE"
)

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	return s == StateValid || s == StateInvalidated || s == StatePurged || s == StateStale
}

// Position is a transaction's place in the ledger, the global order of all
// transitions: (block, txIndex).
type Position struct {
	Block   uint64 `json:"block"`
	TxIndex uint32 `json:"txIndex"`
}

// Less reports whether p comes before q on the ledger.
func (p Position) Less(q Position) bool {
	return p.Block < q.Block || p.Block == q.Block && p.TxIndex < q.TxIndex
}

func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Block, p.TxIndex) }

// Transition is one committed change of one cache entry; the value of a
// record on TopicTransitions, keyed by Key so a key stays on one partition.
// Consumers apply it only if Version is newer than what they hold.
type Transition struct {
	V           int       `json:"v"`
	Channel     string    `json:"channel"`
	Position              // block and txIndex, inlined
	TxID        string    `json:"txId"`
	Timestamp   time.Time `json:"ts"` // the transaction's timestamp
	Key         string    `json:"key"`
	Version     uint64    `json:"version"`
	State       State     `json:"state"`
	ETag        string    `json:"etag,omitempty"`
	MaxAge      uint32    `json:"maxAge,omitempty"` // seconds
	Tags        []string  `json:"tags,omitempty"`
	Owner       string    `json:"owner"` // MSP ID of the owning org
	Actor       string    `json:"actor"` // MSP ID of the submitting org
	Reason      string    `json:"reason,omitempty"`
	Traceparent string    `json:"traceparent,omitempty"`
}

// ScopeKind names what a scope purge covers.
type ScopeKind string

// Scope kinds. A tag scope belongs to (owner org, tag); the others belong to
// the org that claims the host and cover the entries that org owns.
const (
	ScopeTag    ScopeKind = "tag"    // entries of the owner carrying the tag
	ScopePrefix ScopeKind = "prefix" // URL keys under a path prefix ending in '/'
	ScopeHost   ScopeKind = "host"   // URL keys on a host name, any scheme or port
	ScopeOrigin ScopeKind = "origin" // URL keys on one scheme://host[:port]
)

// Valid reports whether k is one of the known scope kinds.
func (k ScopeKind) Valid() bool {
	return k == ScopeTag || k == ScopePrefix || k == ScopeHost || k == ScopeOrigin
}

// Scope is what a purge covers: a kind and its value (a tag, a prefix such
// as "https://shop.example/p/", a host name, an origin).
type Scope struct {
	Kind  ScopeKind `json:"scope"`
	Value string    `json:"value"`
}

func (s Scope) String() string { return string(s.Kind) + ":" + s.Value }

// Purge is one scope purge: the scope's new generation. Every entry of
// Owner that the scope covers and that was last written under an older
// generation of it is INVALIDATED (STALE when Soft). The ledger's answers
// and events (ledger.Generation) and the Kafka record (Generation) carry it.
type Purge struct {
	Scope
	Owner      string `json:"owner"`      // MSP ID of the org the scope belongs to
	Generation uint64 `json:"generation"` // per (owner, scope), from 1
	Soft       bool   `json:"soft,omitempty" metadata:",optional"`
	Reason     string `json:"reason,omitempty" metadata:",optional"`
}

// Generation is one committed scope purge, the value of a record on
// TopicPurges, keyed by Scope.String() so a scope stays on one partition.
// Consumers apply it only if Generation is newer than what they hold for
// (Owner, Scope); a browser drops (or, if Soft, marks stale) every copy the
// scope covers that it filled under an older generation.
type Generation struct {
	V         int       `json:"v"`
	Channel   string    `json:"channel"`
	Position            // block and txIndex, inlined
	TxID      string    `json:"txId"`
	Timestamp time.Time `json:"ts"` // the transaction's timestamp
	Purge
	Actor       string `json:"actor"` // MSP ID of the submitting org
	Traceparent string `json:"traceparent,omitempty"`
}

// ReadKind says what a browser saw when it read or evicted a key.
type ReadKind string

// Read kinds.
const (
	ReadHit   ReadKind = "hit"   // served from cache and fresh
	ReadMiss  ReadKind = "miss"  // fetched from the origin
	ReadStale ReadKind = "stale" // served from cache, later proven stale
	ReadEvict ReadKind = "evict" // an eviction receipt for Version
)

// Read is browser telemetry on TopicReads: one read or eviction receipt.
type Read struct {
	V           int       `json:"v"`
	Kind        ReadKind  `json:"kind"`
	Key         string    `json:"key"`
	Version     uint64    `json:"version,omitempty"` // the version the browser held
	Origin      string    `json:"origin"`
	Client      string    `json:"client"` // opaque, per browser profile
	At          time.Time `json:"at"`     // browser clock; analytics bounds skew
	Traceparent string    `json:"traceparent,omitempty"`
}

// Action is what analytics recommends for a key.
type Action string

// Advice actions.
const (
	ActionNone            Action = "none"
	ActionInvalidateEarly Action = "invalidate-early" // a write is likely before the copy expires
	ActionPin             Action = "pin"              // rarely written: a long max-age is safe
	ActionBatch           Action = "batch"            // several orgs write it: coalesce or change ownership
)

// Advice is analytics' recommendation for one key, on TopicAdvice.
type Advice struct {
	V                  int       `json:"v"`
	Key                string    `json:"key"`
	At                 time.Time `json:"at"`
	WriteRate          float64   `json:"writeRate"` // writes per second (EWMA)
	ReadRate           float64   `json:"readRate"`  // reads per second (EWMA)
	PStale             float64   `json:"pStale"`    // P(a copy goes stale within its max-age)
	ExpectedStaleReads float64   `json:"expectedStaleReads"`
	ConflictRisk       float64   `json:"conflictRisk"`      // P(two orgs write within one block window)
	RecommendedMaxAge  uint32    `json:"recommendedMaxAge"` // seconds
	Action             Action    `json:"action"`
	Engine             string    `json:"engine"` // "cpu" or "cuda"
}

// UnsupportedVersionError reports a record written with a schema version this
// build does not know.
type UnsupportedVersionError struct{ Got int }

func (e *UnsupportedVersionError) Error() string {
	return fmt.Sprintf("record schema version %d not supported (this build reads %d)", e.Got, Version)
}

// InvalidError reports a record that parses but breaks a rule, or does not
// parse at all.
type InvalidError struct {
	Type   string // "transition", "generation", "conflict", "read", "advice", "position" or "deadletter"
	Reason string
	Err    error // the parse error, if any
}

func (e *InvalidError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("invalid %s record: %s: %v", e.Type, e.Reason, e.Err)
	}
	return fmt.Sprintf("invalid %s record: %s", e.Type, e.Reason)
}

func (e *InvalidError) Unwrap() error { return e.Err }

// ErrTooLarge is wrapped by InvalidError for input over MaxRecordBytes.
var ErrTooLarge = errors.New("record too large")

func decode(typ string, b []byte, v any, version *int) error {
	if len(b) > MaxRecordBytes {
		return &InvalidError{Type: typ, Reason: fmt.Sprintf("%d bytes", len(b)), Err: ErrTooLarge}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &InvalidError{Type: typ, Reason: "malformed JSON", Err: err}
	}
	if *version != Version {
		return &UnsupportedVersionError{Got: *version}
	}
	return nil
}
