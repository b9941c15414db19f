package ledger

import (
	"fmt"
	"regexp"
	"strings"
)

// Code is the stable prefix of every refusal's message; clients match on it.
type Code string

// Refusal codes.
const (
	CodeInvalidArgument Code = "INVALID_ARGUMENT"
	CodeNotFound        Code = "NOT_FOUND"
	CodeStaleVersion    Code = "STALE_VERSION"
	CodeBadTransition   Code = "BAD_TRANSITION" // no transaction answers it now: invalidation is always accepted
	CodeForbidden       Code = "FORBIDDEN"
	CodeLimitExceeded   Code = "LIMIT_EXCEEDED"
	CodeHostClaimed     Code = "HOST_CLAIMED" // another org claims the key's host
)

// Codes lists every refusal code the contract answers with.
func Codes() []Code {
	return []Code{CodeInvalidArgument, CodeNotFound, CodeStaleVersion, CodeBadTransition, CodeForbidden, CodeLimitExceeded, CodeHostClaimed}
}

// Error is a refusal by the contract. Its message is "CODE: sentence";
// ParseError reads it back.
type Error struct {
	Code    Code
	Message string
	Err     error // the cause, when there is one (e.g. a *cachekey.Error)
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a refusal with code and a formatted sentence.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// coded finds "CODE: sentence" for any of the codes in a message.
var coded = regexp.MustCompile(`\b(` + strings.Join(func() []string {
	var s []string
	for _, c := range Codes() {
		s = append(s, string(c))
	}
	return s
}(), "|") + `): (.*)`)

// ParseError finds a refusal in msg, which may carry text around it (a peer
// passes the contract's message on inside its own). It reports false when
// msg holds none of the codes.
func ParseError(msg string) (*Error, bool) {
	m := coded.FindStringSubmatch(msg)
	if m == nil {
		return nil, false
	}
	return &Error{Code: Code(m[1]), Message: m[2]}, true
}
