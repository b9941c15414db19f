package purgeapi

import (
	"context"
	"fmt"

	"github.com/cachetsync/cachet/audit"
	"github.com/cachetsync/cachet/ledger"
)

// Entry is the contract's answer, defined in ledger; a HistoryRecord is
// one transaction of a key's audit trail, read from the ledger's blocks,
// and Party and Policy its parts, defined in audit.
type (
	Entry         = ledger.Entry
	HistoryRecord = audit.Record
	Party         = audit.Party
	Policy        = audit.Policy
)

// Ledger is what the purge API needs from the ledger. Every write names the
// API token that asked for it (SubmitOptions.TokenID) so the audit trail
// names the token as well as the org. Keys, tags, prefixes, hosts and
// origins arrive canonical and validated.
type Ledger interface {
	// InvalidateKeys invalidates up to MaxKeys keys in one transaction.
	InvalidateKeys(ctx context.Context, keys []string, opts SubmitOptions) (PurgeResult, error)
	// PurgeTags invalidates every entry carrying one of tags.
	PurgeTags(ctx context.Context, tags []string, opts SubmitOptions) (PurgeResult, error)
	// PurgePrefixes invalidates every URL key starting with one of prefixes.
	PurgePrefixes(ctx context.Context, prefixes []string, opts SubmitOptions) (PurgeResult, error)
	// PurgeHosts invalidates every URL key on one of hosts (any scheme, any port).
	PurgeHosts(ctx context.Context, hosts []string, opts SubmitOptions) (PurgeResult, error)
	// PurgeOrigin invalidates every key of the submitting org on origin.
	PurgeOrigin(ctx context.Context, origin string, opts SubmitOptions) (PurgeResult, error)
	// Get reads one entry; a missing key is a *LedgerError with LedgerNotFound.
	Get(ctx context.Context, key string) (Entry, error)
	// History returns key's audit trail, oldest first: every committed
	// transaction that wrote it and every scope purge that covered it,
	// with submitter, endorsers, policy, reason and API token.
	History(ctx context.Context, key string) ([]HistoryRecord, error)
	// TxStatus reports what became of a transaction.
	TxStatus(ctx context.Context, txID string) (TxStatus, error)
}

// SubmitOptions go with every write.
type SubmitOptions struct {
	// Soft marks entries STALE (serve while revalidating) instead of INVALIDATED.
	Soft bool
	// Reason is recorded with the transition (at most ledger.MaxReasonBytes).
	Reason string
	// IdempotencyKey, when set, makes a repeated submit commit nothing and
	// answer the first result (the Idempotency-Key request header).
	IdempotencyKey string
	// TokenID names the API token that asked for the write.
	TokenID string
}

// PurgeResult is a committed purge: the transaction, its block and the
// effective versions it produced.
type PurgeResult struct {
	TxID  string `json:"txId"`
	Block uint64 `json:"block"`
	// Transactions lists every transaction when a purge took more than one
	// (one per scope, or per key of a soft key purge); TxID and Block are the
	// last.
	Transactions []Committed `json:"transactions,omitempty"`
	// Entries are the keys' versions and states after the purge, when the
	// ledger answers them key by key.
	Entries []KeyVersion `json:"entries,omitempty"`
	// Missing are requested keys that have no entry.
	Missing []string `json:"missing,omitempty"`
	// Scopes are the generations a scope purge wrote.
	Scopes []ScopeGeneration `json:"scopes,omitempty"`
	// Invalidated counts the entries a key purge invalidated. A scope purge
	// leaves it nil (absent in JSON): it invalidates by generation whatever
	// the scope covers, and does not count the entries.
	Invalidated *int `json:"invalidated,omitempty"`
}

// Committed identifies one committed transaction.
type Committed struct {
	TxID  string `json:"txId"`
	Block uint64 `json:"block"`
}

// KeyVersion is one key's version and state after a purge.
type KeyVersion = ledger.Summary

// ScopeGeneration is the generation a scope purge wrote for one scope:
// every entry under the scope older than it is effectively invalidated.
type ScopeGeneration struct {
	Kind       string `json:"kind"` // "tag", "prefix", "host" or "origin"
	Value      string `json:"value"`
	Generation uint64 `json:"generation"`
}

// TxState is what became of a transaction.
type TxState string

// Transaction states.
const (
	TxCommitted TxState = "committed" // valid, in Block
	TxInvalid   TxState = "invalid"   // in Block, marked invalid (ValidationCode says why)
	TxPending   TxState = "pending"   // not in a block yet
	TxUnknown   TxState = "unknown"   // the ledger has never seen it
)

// TxStatus answers GET /v1/tx/{id}.
type TxStatus struct {
	TxID           string  `json:"txId"`
	State          TxState `json:"state"`
	Block          uint64  `json:"block,omitempty"`
	ValidationCode string  `json:"validationCode,omitempty"`
}

// LedgerCode classifies a Ledger failure for the HTTP answer.
type LedgerCode string

// Ledger failure classes.
const (
	LedgerNotFound     LedgerCode = "NOT_FOUND"     // no such entry or transaction: 404
	LedgerUnavailable  LedgerCode = "UNAVAILABLE"   // no peer answered: 503
	LedgerTimeout      LedgerCode = "TIMEOUT"       // no commit in time: 504
	LedgerConflict     LedgerCode = "CONFLICT"      // lost a race and retries ran out: 409
	LedgerForbidden    LedgerCode = "FORBIDDEN"     // the contract refused the org: 403
	LedgerRefused      LedgerCode = "REFUSED"       // the contract refused the arguments: 422
	LedgerNotSupported LedgerCode = "NOT_SUPPORTED" // the ledger client cannot do this yet: 501
	LedgerFailed       LedgerCode = "FAILED"        // anything else: 502
)

// LedgerError is the error a Ledger returns; the server maps its Code to
// an HTTP status.
type LedgerError struct {
	Code    LedgerCode
	Op      string // the Ledger method
	TxID    string // when a transaction was sent
	Message string
	Err     error
}

func (e *LedgerError) Error() string {
	s := fmt.Sprintf("ledger %s: %s: %s", e.Op, e.Code, e.Message)
	if e.TxID != "" {
		s += " (tx " + e.TxID + ")"
	}
	return s
}

func (e *LedgerError) Unwrap() error { return e.Err }

// Is matches another *LedgerError with the same Code and no Op, so
// errors.Is(err, purgeapi.ErrLedgerUnavailable) works.
func (e *LedgerError) Is(target error) bool {
	t, ok := target.(*LedgerError)
	return ok && t.Op == "" && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrLedgerNotFound     = &LedgerError{Code: LedgerNotFound}
	ErrLedgerUnavailable  = &LedgerError{Code: LedgerUnavailable}
	ErrLedgerNotSupported = &LedgerError{Code: LedgerNotSupported}
)
