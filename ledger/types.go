// Package ledger is what the contract answers and emits: the entries,
// transitions and events that cross the ledger boundary, the transaction
// and operation names, the limits clients must respect, and the contract's
// refusal codes. It depends on nothing of Fabric, so clients (the gateway,
// the relay) import it without the contract's runtime.
package ledger

import "github.com/cachetsync/cachet/record"

// Limits the contract enforces; chaincode/README.md states them.
const (
	MaxETagBytes   = 256             // an entry's ETag
	MaxReasonBytes = 256             // an invalidation's reason
	MaxMaxAge      = 365 * 24 * 3600 // seconds
	MaxBatchKeys   = 1000            // keys in one InvalidateBatch or GetMany
	MaxPageSize    = 1000            // entries or keys in one page
	DefaultPage    = 100             // the page size a 0 asks for
	MaxPrefixDepth = 16              // path segments of a prefix purge; deeper ones cover nothing more
)

// Transaction names: the contract's functions as a client invokes them.
const (
	TxPublish             = "Publish"
	TxInvalidate          = "Invalidate"
	TxInvalidateBatch     = "InvalidateBatch"
	TxInvalidateTag       = "InvalidateTag"
	TxPurge               = "Purge"
	TxGet                 = "Get"
	TxGetMany             = "GetMany"
	TxHistory             = "History"
	TxListByTag           = "ListByTag"
	TxListByOwner         = "ListByOwner"
	TxInvalidateSoft      = "InvalidateSoft"
	TxPurgeScope          = "PurgeScope"
	TxClaimHost           = "ClaimHost"
	TxReleaseHost         = "ReleaseHost"
	TxScopePurges         = "ScopePurges"
	TxInvalidateBatchSoft = "InvalidateBatchSoft"
)

// EventName is the name of the one chaincode event every transaction emits.
const EventName = "cachet.transitions"

// TransientTraceparent is the transient-map key carrying the caller's W3C
// trace context into the event.
const TransientTraceparent = "traceparent"

// TransientIdempotencyKey is the transient-map key naming an invalidation
// (Invalidate, InvalidateBatch) so that submitting it again commits nothing
// and answers the first result. The key is scoped to the caller's org and
// is 1 to MaxIdempotencyKeyBytes bytes of printable ASCII.
const TransientIdempotencyKey = "idempotency-key"

// MaxIdempotencyKeyBytes bounds TransientIdempotencyKey's value.
const MaxIdempotencyKeyBytes = 128

// TransientTokenID is the transient-map key naming the API token a write
// was made for (the purge API's token ID); the contract records it in the
// event's TokenID so the audit trail names the token as well as the org.
// It is 1 to MaxTokenIDBytes bytes of printable ASCII.
const TransientTokenID = "token-id"

// MaxTokenIDBytes bounds TransientTokenID's value.
const MaxTokenIDBytes = 64

// Entry is the ledger state of one cache key.
type Entry struct {
	Key       string       `json:"key"`
	Version   uint64       `json:"version"`
	State     record.State `json:"state"`
	ETag      string       `json:"etag,omitempty" metadata:",optional"`
	MaxAge    uint32       `json:"maxAge,omitempty" metadata:",optional"`
	Tags      []string     `json:"tags,omitempty" metadata:",optional"`
	Owner     string       `json:"owner"`
	UpdatedAt string       `json:"updatedAt"` // RFC 3339, from the transaction timestamp
	TxID      string       `json:"txId"`
	// Generations are the generations of the scopes covering the entry
	// when it was last written, by Scope.String(), the ones above 0 only.
	// A scope whose generation is higher now purged the entry.
	Generations map[string]uint64 `json:"generations,omitempty" metadata:",optional"`
	// Effective is the state the entry's own state and the scope purges
	// covering it give; queries answer it, the ledger does not store it.
	Effective *Effective `json:"effective,omitempty" metadata:",optional"`
}

// Scope, ScopeKind and Purge are what a scope purge covers and did,
// declared once in record.
type (
	Scope     = record.Scope
	ScopeKind = record.ScopeKind
	Purge     = record.Purge
)

// Scope kinds.
const (
	ScopeTag    = record.ScopeTag
	ScopePrefix = record.ScopePrefix
	ScopeHost   = record.ScopeHost
	ScopeOrigin = record.ScopeOrigin
)

// Generation is a committed scope purge: PurgeScope's answer, an event's
// purge, and the purge an Effective names.
type Generation struct {
	Purge
	TxID      string `json:"txId"`
	Timestamp string `json:"timestamp"` // RFC 3339, from the transaction timestamp
}

// Effective is an entry's state once the scope purges covering it are
// applied. State is the entry's own state unless a generation newer than
// the one the entry was written under covers it: then INVALIDATED (a hard
// purge) or STALE (only soft ones, over a VALID entry), and Purge names
// the purge that decided it (a hard one before a soft one, then the latest).
type Effective struct {
	State record.State `json:"state"`
	Purge *Generation  `json:"purge,omitempty" metadata:",optional"`
}

// HostClaim says which org claims a host: only that org may publish URL
// keys on it and purge its prefix, host and origin scopes.
type HostClaim struct {
	Host      string `json:"host"`
	Owner     string `json:"owner"`
	Claimed   bool   `json:"claimed"` // false in ReleaseHost's answer
	TxID      string `json:"txId"`
	Timestamp string `json:"timestamp"`
}

// Op names what a transition did.
type Op string

// Transition operations.
const (
	OpPublish    Op = "publish"
	OpInvalidate Op = "invalidate"
	OpPurge      Op = "purge"
)

// Transition is one entry's change inside a transaction's event.
type Transition struct {
	Op      Op           `json:"op"`
	Key     string       `json:"key"`
	Version uint64       `json:"version"`
	State   record.State `json:"state"`
	ETag    string       `json:"etag,omitempty"`
	MaxAge  uint32       `json:"maxAge,omitempty"`
	Tags    []string     `json:"tags,omitempty"`
	Owner   string       `json:"owner"`
	Reason  string       `json:"reason,omitempty"`
}

// Event is the payload of the transaction's one chaincode event.
type Event struct {
	TxID        string `json:"txId"`
	Timestamp   string `json:"timestamp"`
	Actor       string `json:"actor"` // MSP ID of the submitter
	Traceparent string `json:"traceparent,omitempty"`
	// TokenID names the API token that asked for the transaction, when it
	// came through the purge API (the transient map's TransientTokenID).
	TokenID     string       `json:"tokenId,omitempty"`
	Transitions []Transition `json:"transitions"`
	Purges      []Generation `json:"purges,omitempty"` // scope purges, at most one
}

// Summary names an entry's version and state after a transition: enough
// for a client to follow a batch without the whole entry.
type Summary struct {
	Key     string       `json:"key"`
	Version uint64       `json:"version"`
	State   record.State `json:"state"`
}

// BatchResult is InvalidateBatch's answer.
type BatchResult struct {
	Invalidated []Summary `json:"invalidated,omitempty" metadata:",optional"`
	Missing     []string  `json:"missing,omitempty" metadata:",optional"` // never published or purged
}

// TagPage is InvalidateTag's answer for one page of the tag index.
type TagPage struct {
	Invalidated int      `json:"invalidated"`
	Keys        []string `json:"keys,omitempty" metadata:",optional"` // keys invalidated by this page
	Bookmark    string   `json:"bookmark,omitempty" metadata:",optional"`
}

// Page is one page of a listing.
type Page struct {
	Entries  []Entry `json:"entries,omitempty" metadata:",optional"`
	Bookmark string  `json:"bookmark,omitempty" metadata:",optional"` // empty on the last page
}

// HistoryItem is one committed modification of a key.
type HistoryItem struct {
	TxID      string `json:"txId"`
	Timestamp string `json:"timestamp"`
	IsDelete  bool   `json:"isDelete"`
	Entry     *Entry `json:"entry,omitempty" metadata:",optional"`
}
