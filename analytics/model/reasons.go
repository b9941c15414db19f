package model

import "fmt"

// Reason says why a record was skipped.
type Reason string

// Skip reasons. Stats counts records by reason.
const (
	ReasonMalformed     Reason = "malformed record"
	ReasonVersion       Reason = "unsupported schema version"
	ReasonAbsurdTime    Reason = "absurd timestamp"
	ReasonFuture        Reason = "timestamp in the future"
	ReasonTooOld        Reason = "read too old"
	ReasonClockSkew     Reason = "write timestamp behind the key's last write beyond the skew bound"
	ReasonStaleVersion  Reason = "version not newer than the one held"
	ReasonTableFull     Reason = "key table full"
	ReasonEvictReceipt  Reason = "eviction receipt (not a read)"
	ReasonNonFiniteRate Reason = "non-finite rate"
)

// SkipError reports a record the model did not use, and why.
type SkipError struct {
	Reason Reason
	Key    string
	Err    error // the decoding error, if any
}

func (e *SkipError) Error() string {
	msg := string(e.Reason)
	if e.Key != "" {
		msg = fmt.Sprintf("%s (key %q)", msg, e.Key)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return "skipped: " + msg
}

func (e *SkipError) Unwrap() error { return e.Err }
