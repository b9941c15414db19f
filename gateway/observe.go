package gateway

import (
	"errors"
	"time"
)

// Observer is told of every transaction the client submits, once its
// submit flow has ended (Config.Observer): a long-running process exports
// submit latency and refusals from it without the gateway depending on a
// metrics library. ObserveSubmit is called from the submitting goroutine,
// concurrently for concurrent submits, and should return quickly.
type Observer interface {
	ObserveSubmit(SubmitObservation)
}

// SubmitObservation is one submitted transaction, from its first proposal
// to its commit or its final failure.
type SubmitObservation struct {
	// Transaction is the contract function: InvalidateBatch, PurgeScope, ...
	Transaction string
	// Duration runs from the first proposal to the final answer: every
	// attempt, and the backoff between them, included.
	Duration time.Duration
	// Attempts is how many times the flow ran (retried on MVCC conflicts
	// and endorsement mismatches, Config.Retry).
	Attempts int
	// Err is nil when the transaction committed valid, else the *Error of
	// the last attempt (CodeOf reads its code).
	Err error
}

// Codes lists every Code this package's errors carry: the contract's and
// the network's. An exporter may set its per-code series to zero from it.
func Codes() []Code {
	return []Code{
		CodeInvalidArgument, CodeNotFound, CodeStaleVersion, CodeBadTransition, CodeForbidden, CodeLimitExceeded, CodeHostClaimed,
		CodeConflict, CodeEndorsementMismatch, CodeEndorsementPolicy, CodeUnauthorized, CodeInvalidTx, CodeTimeout, CodeUnavailable, CodeUnknown,
	}
}

// CodeOf is err's Code: "" for nil, CodeUnknown for an error that is not
// an *Error.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return CodeUnknown
}
