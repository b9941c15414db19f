package chaincode

import (
	"errors"
	"strconv"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/ledger"
)

func canonicalKey(raw string) (string, error) {
	key, err := cachekey.Canonical(raw)
	if err != nil {
		var ke *cachekey.Error
		if errors.As(err, &ke) && ke.Reason == cachekey.ReasonTooLong {
			e := invalid(err, "key")
			e.Code = ledger.CodeLimitExceeded
			return "", e
		}
		return "", invalid(err, "key")
	}
	return key, nil
}

// checkTags validates tags and drops duplicates, keeping the first order.
func checkTags(tags []string) ([]string, error) {
	if len(tags) > cachekey.MaxTags {
		return nil, refuse(ledger.CodeLimitExceeded, "%d tags, limit %d", len(tags), cachekey.MaxTags)
	}
	var out []string
	for _, tag := range tags {
		if err := cachekey.Tag(tag); err != nil {
			var ke *cachekey.Error
			if errors.As(err, &ke) && len(tag) > cachekey.MaxTagBytes {
				e := invalid(err, "tag")
				e.Code = ledger.CodeLimitExceeded
				return nil, e
			}
			return nil, invalid(err, "tag")
		}
		if !contains(out, tag) {
			out = append(out, tag)
		}
	}
	return out, nil
}

func checkReason(reason string) error {
	if len(reason) > ledger.MaxReasonBytes {
		return refuse(ledger.CodeLimitExceeded, "reason is %d bytes, limit %d", len(reason), ledger.MaxReasonBytes)
	}
	return nil
}

// checkVersion refuses a transition whose caller expected another version:
// a stale view or a replay of an earlier transaction.
func checkVersion(key string, current, expected uint64) error {
	if expected != 0 && expected != current {
		return refuse(ledger.CodeStaleVersion, "%s is at version %d, the transaction expected %d", key, current, expected)
	}
	return nil
}

func pageSizeOf(n int32) (int, error) {
	switch {
	case n == 0:
		return ledger.DefaultPage, nil
	case n < 0 || n > ledger.MaxPageSize:
		return 0, refuse(ledger.CodeLimitExceeded, "page size %d, allowed 1-%d", n, ledger.MaxPageSize)
	}
	return int(n), nil
}

func itoa(i int) string { return strconv.Itoa(i) }

func refuse(code ledger.Code, format string, args ...any) *ledger.Error {
	return ledger.Errorf(code, format, args...)
}

func invalid(err error, format string, args ...any) *ledger.Error {
	e := refuse(ledger.CodeInvalidArgument, format, args...)
	e.Message += ": " + err.Error()
	e.Err = err
	return e
}
