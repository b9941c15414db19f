package purgeapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Code is the machine-readable "code" of a refusal's JSON body.
type Code string

// Refusal codes; README.md's refusal table and openapi.json list them.
const (
	CodeMalformedJSON     Code = "malformed_json"      // 400: not JSON, wrong types or trailing data
	CodeUnknownField      Code = "unknown_field"       // 400: a field the API does not know
	CodeBadTarget         Code = "bad_target"          // 400: not exactly one of keys, tags, prefixes, hosts, everything
	CodeEmptyList         Code = "empty_list"          // 400: the target list is empty
	CodeListTooLong       Code = "list_too_long"       // 400: more targets than the kind's limit
	CodeBadKey            Code = "bad_key"             // 400: a key cachekey refuses
	CodeBadTag            Code = "bad_tag"             // 400: a tag that is not canonical
	CodeBadPrefix         Code = "bad_prefix"          // 400: a prefix that is not an http(s) URL without query
	CodeBadHost           Code = "bad_host"            // 400: a host the URL host parser refuses
	CodeBadOrigin         Code = "bad_origin"          // 400: not scheme://host[:port]
	CodeReasonTooLong     Code = "reason_too_long"     // 400: reason over MaxReasonBytes
	CodeBadIdempotencyKey Code = "bad_idempotency_key" // 400: Idempotency-Key not 1-128 printable ASCII
	CodeUnauthenticated   Code = "unauthenticated"     // 401: no token, malformed or unknown
	CodeTokenExpired      Code = "token_expired"       // 401
	CodeTokenRevoked      Code = "token_revoked"       // 401
	CodeOutOfScope        Code = "out_of_scope"        // 403: the token's scopes do not cover the request
	CodeLedgerForbidden   Code = "ledger_forbidden"    // 403: the contract refused the daemon's org
	CodeNotFound          Code = "not_found"           // 404: no such entry or transaction
	CodeConflict          Code = "conflict"            // 409: lost a write race and retries ran out
	CodeBodyTooLarge      Code = "body_too_large"      // 413: body over Config.MaxBodyBytes
	CodeUnsupportedMedia  Code = "unsupported_media"   // 415: Content-Type not application/json
	CodeLedgerRefused     Code = "ledger_refused"      // 422: the contract refused the arguments
	CodeRateLimited       Code = "rate_limited"        // 429: over the token's rate; Retry-After says when
	CodeInternal          Code = "internal"            // 500
	CodeNotSupported      Code = "not_supported"       // 501: the ledger client cannot do this yet
	CodeLedgerFailed      Code = "ledger_failed"       // 502: the ledger failed otherwise
	CodeUnavailable       Code = "unavailable"         // 503: no peer answered; nothing was applied
	CodeTimeout           Code = "timeout"             // 504: no commit within the submit timeout
)

// Codes lists every refusal code, for documentation checks.
var Codes = []Code{
	CodeMalformedJSON, CodeUnknownField, CodeBadTarget, CodeEmptyList, CodeListTooLong,
	CodeBadKey, CodeBadTag, CodeBadPrefix, CodeBadHost, CodeBadOrigin, CodeReasonTooLong,
	CodeBadIdempotencyKey, CodeUnauthenticated, CodeTokenExpired, CodeTokenRevoked,
	CodeOutOfScope, CodeLedgerForbidden, CodeNotFound, CodeConflict, CodeBodyTooLarge,
	CodeUnsupportedMedia, CodeLedgerRefused, CodeRateLimited, CodeInternal, CodeNotSupported,
	CodeLedgerFailed, CodeUnavailable, CodeTimeout,
}

// Problem is the JSON body of every refusal.
type Problem struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	TxID    string `json:"txId,omitempty"` // when a transaction was sent
}

// apiError is a refusal on its way to the client.
type apiError struct {
	status     int
	problem    Problem
	retryAfter time.Duration
}

func (e *apiError) Error() string { return string(e.problem.Code) + ": " + e.problem.Message }

func refuse(status int, code Code, msg string) *apiError {
	return &apiError{status: status, problem: Problem{Code: code, Message: msg}}
}

var ledgerStatus = map[LedgerCode]struct {
	status int
	code   Code
}{
	LedgerNotFound:     {http.StatusNotFound, CodeNotFound},
	LedgerUnavailable:  {http.StatusServiceUnavailable, CodeUnavailable},
	LedgerTimeout:      {http.StatusGatewayTimeout, CodeTimeout},
	LedgerConflict:     {http.StatusConflict, CodeConflict},
	LedgerForbidden:    {http.StatusForbidden, CodeLedgerForbidden},
	LedgerRefused:      {http.StatusUnprocessableEntity, CodeLedgerRefused},
	LedgerNotSupported: {http.StatusNotImplemented, CodeNotSupported},
	LedgerFailed:       {http.StatusBadGateway, CodeLedgerFailed},
}

// fromLedger maps a Ledger error to its answer.
func fromLedger(err error) *apiError {
	var le *LedgerError
	if !errors.As(err, &le) {
		return refuse(http.StatusBadGateway, CodeLedgerFailed, err.Error())
	}
	m, ok := ledgerStatus[le.Code]
	if !ok {
		m = ledgerStatus[LedgerFailed]
	}
	e := refuse(m.status, m.code, le.Message)
	e.problem.TxID = le.TxID
	if le.Code == LedgerUnavailable {
		e.retryAfter = time.Second
	}
	return e
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, e *apiError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cachet"`)
	}
	if e.retryAfter > 0 {
		secs := int64((e.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	writeJSON(w, e.status, e.problem)
}
