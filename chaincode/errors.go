package chaincode

import "fmt"

// Code is the stable prefix of every refusal's message; clients match on it.
type Code string

// Refusal codes.
const (
	CodeInvalidArgument Code = "INVALID_ARGUMENT"
	CodeNotFound        Code = "NOT_FOUND"
	CodeStaleVersion    Code = "STALE_VERSION"
	CodeBadTransition   Code = "BAD_TRANSITION"
	CodeForbidden       Code = "FORBIDDEN"
	CodeLimitExceeded   Code = "LIMIT_EXCEEDED"
)

// Error is a refusal by the contract. Its message is "CODE: sentence", the
// form the gateway package parses back into a typed error.
type Error struct {
	Code    Code
	Message string
	Err     error // the cause, when there is one (e.g. a *cachekey.Error)
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Err }

func refuse(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(err error, format string, args ...any) *Error {
	e := refuse(CodeInvalidArgument, format, args...)
	e.Message += ": " + err.Error()
	e.Err = err
	return e
}
