package chaincode

import (
	"errors"
	"strconv"

	"github.com/cachetsync/cachet/cachekey"
)

func canonicalKey(raw string) (string, error) {
	key, err := cachekey.Canonical(raw)
	if err != nil {
		var ke *cachekey.Error
		if errors.As(err, &ke) && ke.Reason == cachekey.ReasonTooLong {
			e := invalid(err, "key")
			e.Code = CodeLimitExceeded
			return "", e
		}
		return "", invalid(err, "key")
	}
	return key, nil
}

// checkTags validates tags and drops duplicates, keeping the first order.
func checkTags(tags []string) ([]string, error) {
	if len(tags) > cachekey.MaxTags {
		return nil, refuse(CodeLimitExceeded, "%d tags, limit %d", len(tags), cachekey.MaxTags)
	}
	var out []string
	for _, tag := range tags {
		if err := cachekey.Tag(tag); err != nil {
			var ke *cachekey.Error
			if errors.As(err, &ke) && len(tag) > cachekey.MaxTagBytes {
				e := invalid(err, "tag")
				e.Code = CodeLimitExceeded
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
	if len(reason) > MaxReasonBytes {
		return refuse(CodeLimitExceeded, "reason is %d bytes, limit %d", len(reason), MaxReasonBytes)
	}
	return nil
}

// checkVersion refuses a transition whose caller expected another version:
// a stale view or a replay of an earlier transaction.
func checkVersion(key string, current, expected uint64) error {
	if expected != 0 && expected != current {
		return refuse(CodeStaleVersion, "%s is at version %d, the transaction expected %d", key, current, expected)
	}
	return nil
}

func pageSizeOf(n int32) (int, error) {
	switch {
	case n == 0:
		return DefaultPage, nil
	case n < 0 || n > MaxPageSize:
		return 0, refuse(CodeLimitExceeded, "page size %d, allowed 1-%d", n, MaxPageSize)
	}
	return int(n), nil
}

func itoa(i int) string { return strconv.Itoa(i) }
