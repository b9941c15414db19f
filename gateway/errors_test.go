package gateway

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func statusWithDetail(c codes.Code, msg, detail string) error {
	st, err := status.New(c, msg).WithDetails(&gwproto.ErrorDetail{Address: "peer0.org1:7051", MspId: "Org1MSP", Message: detail})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		stage     Stage
		err       error
		code      Code
		sentinel  error
		retryable bool
		msg       string
	}{
		{"stale version from chaincode", StageEndorse,
			statusWithDetail(codes.Aborted, "failed to endorse transaction", "chaincode response 500, STALE_VERSION: key img:a is at version 5, expected 3"),
			CodeStaleVersion, ErrStaleVersion, false, "key img:a is at version 5, expected 3"},
		{"forbidden", StageEndorse,
			statusWithDetail(codes.Aborted, "failed to endorse", "chaincode response 500, FORBIDDEN: img:a is owned by Org1MSP"),
			CodeForbidden, ErrForbidden, false, "img:a is owned by Org1MSP"},
		{"host claimed by another org", StageEndorse,
			statusWithDetail(codes.Aborted, "failed to endorse", "chaincode response 500, HOST_CLAIMED: Publish of https://shop.example/a: host shop.example is claimed by Org1MSP, the key's org is Org2MSP"),
			CodeHostClaimed, ErrHostClaimed, false, "Publish of https://shop.example/a: host shop.example is claimed by Org1MSP, the key's org is Org2MSP"},
		{"not found in a query", StageEvaluate,
			statusWithDetail(codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, NOT_FOUND: no entry img:zz", "x"),
			CodeNotFound, ErrNotFound, false, "no entry img:zz"},
		{"deadline", StageSubmit, status.Error(codes.DeadlineExceeded, "context deadline exceeded"), CodeTimeout, ErrTimeout, false, ""},
		{"context deadline", StageSubmit, fmt.Errorf("wait: %w", context.DeadlineExceeded), CodeTimeout, ErrTimeout, false, ""},
		{"no peer", StageEvaluate, status.Error(codes.Unavailable, "connection refused"), CodeUnavailable, ErrUnavailable, false, ""},
		{"identity refused", StageEndorse, status.Error(codes.PermissionDenied, "access denied"), CodeUnauthorized, ErrUnauthorized, false, ""},
		{"endorsers disagree (one lagged a block)", StageEndorse,
			statusWithDetail(codes.Aborted, "failed to collect enough transaction endorsements, see attached details for more info", "ProposalResponsePayloads do not match"),
			CodeEndorsementMismatch, ErrEndorsementMismatch, true,
			"failed to collect enough transaction endorsements: peer0.org1:7051 (Org1MSP): ProposalResponsePayloads do not match"},
		{"an endorser failed otherwise: details kept, not retried", StageEndorse,
			statusWithDetail(codes.Aborted, "failed to collect enough transaction endorsements, see attached details for more info", "chaincode stream terminated"),
			CodeUnknown, &Error{Code: CodeUnknown}, false,
			"failed to collect enough transaction endorsements: peer0.org1:7051 (Org1MSP): chaincode stream terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify(tt.stage, tt.err)
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("got %T, want *Error", err)
			}
			if ge.Code != tt.code || !errors.Is(err, tt.sentinel) || ge.Retryable() != tt.retryable {
				t.Fatalf("got %+v", ge)
			}
			if tt.msg != "" && ge.Message != tt.msg {
				t.Fatalf("message %q, want %q", ge.Message, tt.msg)
			}
			if errors.Is(err, ErrConflict) && tt.code != CodeConflict {
				t.Fatal("errors.Is must compare codes")
			}
			if status.Code(errors.Unwrap(err)) != status.Code(tt.err) {
				t.Fatal("the gRPC status must stay reachable")
			}
		})
	}
}

func TestClassifyCommitCodes(t *testing.T) {
	tests := []struct {
		vc   peer.TxValidationCode
		code Code
	}{
		{peer.TxValidationCode_MVCC_READ_CONFLICT, CodeConflict},
		{peer.TxValidationCode_PHANTOM_READ_CONFLICT, CodeConflict},
		{peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE, CodeEndorsementPolicy},
		{peer.TxValidationCode_BAD_PAYLOAD, CodeInvalidTx},
	}
	for _, tt := range tests {
		ge := fromValidationCode("tx9", tt.vc, errors.New("commit failed"))
		if ge.Code != tt.code || ge.TxID != "tx9" || ge.Stage != StageCommit {
			t.Errorf("%s: got %+v", tt.vc, ge)
		}
		if ge.Retryable() != (tt.code == CodeConflict) {
			t.Errorf("%s: retryable %v", tt.vc, ge.Retryable())
		}
	}
	// A *client.CommitError reaches fromValidationCode through classify.
	var ce *client.CommitError
	if errors.As(classify(StageCommit, errors.New("plain")), &ce) {
		t.Fatal("a plain error must not look like a commit error")
	}
}
