package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Code classifies why a transaction or query did not succeed.
type Code string

// Codes the contract returns, the prefix of its error messages; the
// chaincode package defines them.
const (
	CodeInvalidArgument = Code(ledger.CodeInvalidArgument)
	CodeNotFound        = Code(ledger.CodeNotFound)
	CodeStaleVersion    = Code(ledger.CodeStaleVersion)
	CodeBadTransition   = Code(ledger.CodeBadTransition)
	CodeForbidden       = Code(ledger.CodeForbidden)
	CodeLimitExceeded   = Code(ledger.CodeLimitExceeded)
	// CodeHostClaimed: another org claims the host of the key or scope.
	CodeHostClaimed = Code(ledger.CodeHostClaimed)
)

// Codes the network and the client produce.
const (
	// CodeConflict: the transaction read a key another committed first
	// (MVCC_READ_CONFLICT or PHANTOM_READ_CONFLICT); re-running it may succeed.
	CodeConflict Code = "CONFLICT"
	// CodeEndorsementMismatch: the endorsing peers simulated the transaction
	// to different results, typically because one of them had not yet
	// committed the latest block; re-running it may succeed.
	CodeEndorsementMismatch Code = "ENDORSEMENT_MISMATCH"
	// CodeEndorsementPolicy: the endorsements did not satisfy the key's or
	// the chaincode's policy, e.g. the owner org did not endorse.
	CodeEndorsementPolicy Code = "ENDORSEMENT_POLICY_FAILURE"
	// CodeUnauthorized: the identity was refused by the peer or channel.
	CodeUnauthorized Code = "UNAUTHORIZED"
	// CodeInvalidTx: committed as invalid for another validation reason.
	CodeInvalidTx Code = "INVALID_TRANSACTION"
	CodeTimeout   Code = "TIMEOUT"
	// CodeUnavailable: no peer or orderer could be reached.
	CodeUnavailable Code = "UNAVAILABLE"
	CodeUnknown     Code = "UNKNOWN"
)

// Stage is where in the transaction flow an error happened.
type Stage string

// Stages of the flow.
const (
	StageEvaluate Stage = "evaluate"
	StageEndorse  Stage = "endorse"
	StageSubmit   Stage = "submit"
	StageCommit   Stage = "commit"
)

// Error is every failure the gateway package returns for a transaction or
// query. Match with errors.As, or errors.Is against the Err… values, which
// compare codes.
type Error struct {
	Code    Code
	Stage   Stage
	TxID    string // empty for queries
	Message string // the contract's or the network's sentence
	Err     error  // the underlying fabric-gateway or gRPC error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s failed: %s: %s", e.Stage, e.Code, e.Message)
	if e.TxID != "" {
		s += " (tx " + e.TxID + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error with the same code, so errors.Is(err,
// gateway.ErrStaleVersion) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Stage == "" && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrInvalidArgument     = &Error{Code: CodeInvalidArgument}
	ErrNotFound            = &Error{Code: CodeNotFound}
	ErrStaleVersion        = &Error{Code: CodeStaleVersion}
	ErrBadTransition       = &Error{Code: CodeBadTransition}
	ErrForbidden           = &Error{Code: CodeForbidden}
	ErrLimitExceeded       = &Error{Code: CodeLimitExceeded}
	ErrHostClaimed         = &Error{Code: CodeHostClaimed}
	ErrConflict            = &Error{Code: CodeConflict}
	ErrEndorsementPolicy   = &Error{Code: CodeEndorsementPolicy}
	ErrEndorsementMismatch = &Error{Code: CodeEndorsementMismatch}
	ErrUnauthorized        = &Error{Code: CodeUnauthorized}
	ErrTimeout             = &Error{Code: CodeTimeout}
	ErrUnavailable         = &Error{Code: CodeUnavailable}
)

// Retryable reports whether re-running the whole submit flow may succeed:
// an MVCC conflict, or peers that disagreed because one lagged a block.
func (e *Error) Retryable() bool {
	return e.Code == CodeConflict || e.Code == CodeEndorsementMismatch
}

// payloadsDiffer is how Fabric's gateway reports an endorser whose
// simulation result differs from the first endorser's.
const payloadsDiffer = "ProposalResponsePayloads do not match"

// classify turns a fabric-gateway error into an *Error.
func classify(stage Stage, err error) error {
	if err == nil {
		return nil
	}
	var (
		commit   *client.CommitError
		endorse  *client.EndorseError
		submit   *client.SubmitError
		cstatus  *client.CommitStatusError
		existing *Error
	)
	switch {
	case errors.As(err, &existing):
		return err
	case errors.As(err, &commit):
		return fromValidationCode(commit.TransactionID, commit.Code, err)
	case errors.As(err, &endorse):
		return fromStatus(StageEndorse, endorse.TransactionID, err)
	case errors.As(err, &submit):
		return fromStatus(StageSubmit, submit.TransactionID, err)
	case errors.As(err, &cstatus):
		return fromStatus(StageCommit, cstatus.TransactionID, err)
	}
	return fromStatus(stage, "", err)
}

func fromValidationCode(txID string, vc peer.TxValidationCode, err error) *Error {
	e := &Error{Stage: StageCommit, TxID: txID, Message: vc.String(), Err: err}
	switch vc {
	case peer.TxValidationCode_MVCC_READ_CONFLICT, peer.TxValidationCode_PHANTOM_READ_CONFLICT:
		e.Code = CodeConflict
	case peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE:
		e.Code = CodeEndorsementPolicy
	case peer.TxValidationCode_BAD_CREATOR_SIGNATURE, peer.TxValidationCode_INVALID_CHAINCODE:
		e.Code = CodeUnauthorized
	default:
		e.Code = CodeInvalidTx
	}
	return e
}

// fromStatus reads the gRPC status, and the contract's own code when a peer
// passed on the chaincode's error message in the status details.
func fromStatus(stage Stage, txID string, err error) *Error {
	st := status.Convert(err)
	e := &Error{Stage: stage, TxID: txID, Message: st.Message(), Err: err}
	var peers []string
	mismatch := false
	for _, d := range st.Details() {
		if det, ok := d.(*gwproto.ErrorDetail); ok {
			if le, ok := ledger.ParseError(det.GetMessage()); ok {
				e.Code, e.Message = Code(le.Code), le.Message
				return e
			}
			mismatch = mismatch || strings.Contains(det.GetMessage(), payloadsDiffer)
			peers = append(peers, fmt.Sprintf("%s (%s): %s", det.GetAddress(), det.GetMspId(), det.GetMessage()))
		}
	}
	if le, ok := ledger.ParseError(st.Message()); ok {
		e.Code, e.Message = Code(le.Code), le.Message
		return e
	}
	if len(peers) > 0 { // "see attached details": attach them
		e.Message = strings.TrimSuffix(e.Message, ", see attached details for more info") + ": " + strings.Join(peers, "; ")
	}
	switch {
	case mismatch && st.Code() == codes.Aborted:
		e.Code = CodeEndorsementMismatch
	case st.Code() == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
		e.Code = CodeTimeout
	case st.Code() == codes.Unavailable:
		e.Code = CodeUnavailable
	case st.Code() == codes.PermissionDenied || st.Code() == codes.Unauthenticated:
		e.Code = CodeUnauthorized
	default:
		e.Code = CodeUnknown
	}
	return e
}
