package ledger_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cachetsync/cachet/ledger"
)

func TestParseError(t *testing.T) {
	for _, tc := range []struct {
		msg, code, sentence string
	}{
		{"STALE_VERSION: img:a is at version 2, the transaction expected 1", "STALE_VERSION", "img:a is at version 2, the transaction expected 1"},
		{"chaincode response 500, NOT_FOUND: no entry for img:b", "NOT_FOUND", "no entry for img:b"},
		{"rpc error: FORBIDDEN: Publish needs role [publisher]", "FORBIDDEN", "Publish needs role [publisher]"},
		{"INVALID_ARGUMENTS: not ours", "", ""},
		{"XNOT_FOUND: glued to a word", "", ""},
		{"timeout waiting for commit", "", ""},
	} {
		e, ok := ledger.ParseError(tc.msg)
		if tc.code == "" {
			if ok {
				t.Errorf("%q: found %+v, want none", tc.msg, e)
			}
			continue
		}
		if !ok || string(e.Code) != tc.code || e.Message != tc.sentence {
			t.Errorf("%q: got %+v %v, want %s %q", tc.msg, e, ok, tc.code, tc.sentence)
		}
	}
}

// Every code survives the round trip through its message.
func TestErrorRoundTrip(t *testing.T) {
	for _, c := range ledger.Codes() {
		e := ledger.Errorf(c, "key %s at version %d", "img:a", 3)
		back, ok := ledger.ParseError("peer said: " + e.Error())
		if !ok || back.Code != c || back.Message != e.Message {
			t.Errorf("%s: got %+v %v", c, back, ok)
		}
	}
}

func TestErrorUnwrapsCause(t *testing.T) {
	cause := errors.New("leading NUL")
	err := fmt.Errorf("publish: %w", &ledger.Error{Code: ledger.CodeInvalidArgument, Message: "key", Err: cause})
	var le *ledger.Error
	if !errors.As(err, &le) || le.Code != ledger.CodeInvalidArgument || !errors.Is(err, cause) {
		t.Fatalf("errors.As/Is through %v: %+v", err, le)
	}
}
