package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/push"
)

// Exit statuses, so scripts can tell a mistake in the command line from a
// refusal from a conflict from a network that did not answer.
const (
	exitFailure     = 1 // anything not classified below
	exitUsage       = 2 // bad flags, arguments, keys or connection settings: nothing was sent
	exitRefused     = 3 // the contract or an endorsement policy said no
	exitConflict    = 4 // stale version or MVCC conflict: re-read and retry
	exitUnreachable = 5 // no peer answered in time
)

// usageError marks a mistake in how cachet was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// usagef returns a usageError with a formatted message.
func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// usageWrap is a usage error that keeps its cause for errors.As.
type usageWrap struct{ err error }

func (e usageWrap) Error() string { return e.err.Error() }
func (e usageWrap) Unwrap() error { return e.err }

// asUsage marks err (a flag, argument or configuration mistake) as a usage
// error, keeping it reachable with errors.As.
func asUsage(err error) error {
	if err == nil || isUsage(err) {
		return err
	}
	return usageWrap{err}
}

func isUsage(err error) bool {
	var ue usageError
	var uw usageWrap
	return errors.As(err, &ue) || errors.As(err, &uw)
}

// exitCode maps an error to cachet's exit status. It is the one place
// that does: commands return typed errors and never choose a status.
func exitCode(err error) int {
	var (
		ke *cachekey.Error
		kc *kafka.ConfigError
		gc *gateway.ConfigError
		pc *push.ConfigError
		ge *gateway.Error
	)
	switch {
	case err == nil:
		return 0
	case isUsage(err), errors.As(err, &ke), errors.As(err, &kc), errors.As(err, &gc), errors.As(err, &pc):
		return exitUsage
	case errors.As(err, &ge):
		switch ge.Code {
		case gateway.CodeStaleVersion, gateway.CodeConflict, gateway.CodeEndorsementMismatch:
			return exitConflict
		case gateway.CodeUnavailable, gateway.CodeTimeout:
			return exitUnreachable
		case gateway.CodeUnknown:
			return exitFailure
		}
		return exitRefused
	}
	return exitFailure
}

// errorCode names an error's class in JSON error output.
func errorCode(err error) string {
	var ge *gateway.Error
	var ke *cachekey.Error
	switch {
	case errors.As(err, &ke):
		return "INVALID_KEY"
	case exitCode(err) == exitUsage:
		return "USAGE"
	case errors.As(err, &ge):
		return string(ge.Code)
	}
	return "FAILURE"
}

// reportError prints err on w: a line, or under --json an object
// {"code":…, "message":…, "exit":…}.
func reportError(w io.Writer, err error, asJSON bool) {
	if asJSON {
		json.NewEncoder(w).Encode(map[string]any{"code": errorCode(err), "message": err.Error(), "exit": exitCode(err)})
		return
	}
	fmt.Fprintln(w, "cachet:", err)
}
