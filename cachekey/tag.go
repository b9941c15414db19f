package cachekey

import "fmt"

// Limits on tags.
const (
	// MaxTagBytes bounds one tag.
	MaxTagBytes = 64
	// MaxTags bounds the tags of one entry.
	MaxTags = 16
)

// ReasonBadTag is the Reason for a tag that is not well-formed.
const ReasonBadTag Reason = "bad-tag"

// Tag validates a tag: 1–64 bytes of [a-z0-9._:/-], starting with a letter or
// digit. Tags name push channels ("tag:<tag>") and ledger index entries, so
// they are never rewritten: a tag that is not already canonical is refused.
func Tag(tag string) error {
	if tag == "" || len(tag) > MaxTagBytes {
		return fail(tag, ReasonBadTag, fmt.Sprintf("1-%d bytes", MaxTagBytes))
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		ok := c >= 'a' && c <= 'z' || isDigit(c)
		if i > 0 {
			ok = ok || c == '.' || c == '_' || c == ':' || c == '/' || c == '-'
		}
		if !ok {
			return fail(tag, ReasonBadTag, fmt.Sprintf("byte %q at %d; allowed: [a-z0-9] then [a-z0-9._:/-]", c, i))
		}
	}
	return nil
}
