package purgeapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/ledger"
)

// Limits of one purge request; openapi.json states the same numbers.
const (
	MaxKeys        = ledger.MaxBatchKeys // keys in one request: one transaction
	MaxTags        = 256
	MaxPrefixes    = 256
	MaxHosts       = 64
	MaxReasonBytes = ledger.MaxReasonBytes
	// MaxIdempotencyKeyBytes bounds the Idempotency-Key header.
	MaxIdempotencyKeyBytes = ledger.MaxIdempotencyKeyBytes
	// DefaultMaxBodyBytes bounds a request body unless Config says otherwise:
	// MaxKeys keys of cachekey.MaxInputBytes each, with room for the JSON.
	DefaultMaxBodyBytes = 3 << 20
)

// PurgeRequest is the body of POST /v1/purge: exactly one of Keys, Tags,
// Prefixes, Hosts and Everything.
type PurgeRequest struct {
	Keys       []string `json:"keys,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Prefixes   []string `json:"prefixes,omitempty"`
	Hosts      []string `json:"hosts,omitempty"`
	Everything string   `json:"everything,omitempty"` // an origin
	Soft       bool     `json:"soft,omitempty"`
	Reason     string   `json:"reason,omitempty"`
}

// purge is a validated, canonical request.
type purge struct {
	kind    string
	targets []string
	opts    SubmitOptions
}

// decodePurge reads and validates the whole request before anything is sent.
func decodePurge(r *http.Request, maxBody int64, w http.ResponseWriter) (purge, *apiError) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return purge{}, refuse(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	var req PurgeRequest
	if err := dec.Decode(&req); err != nil {
		return purge{}, decodeError(err, maxBody)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return purge{}, decodeError(err, maxBody)
		}
		return purge{}, refuse(http.StatusBadRequest, CodeMalformedJSON, "trailing data after the JSON object")
	}
	p := purge{opts: SubmitOptions{Soft: req.Soft, Reason: req.Reason, IdempotencyKey: r.Header.Get("Idempotency-Key")}}
	if len(req.Reason) > MaxReasonBytes {
		return purge{}, refuse(http.StatusBadRequest, CodeReasonTooLong, fmt.Sprintf("reason is %d bytes, limit %d", len(req.Reason), MaxReasonBytes))
	}
	if _, set := r.Header["Idempotency-Key"]; set && !validIdempotencyKey(p.opts.IdempotencyKey) {
		return purge{}, refuse(http.StatusBadRequest, CodeBadIdempotencyKey, fmt.Sprintf("Idempotency-Key is 1 to %d bytes of printable ASCII", MaxIdempotencyKeyBytes))
	}
	type target struct {
		kind  string
		list  []string
		limit int
		canon func(string) (string, error)
		code  Code
	}
	var set []target
	for _, t := range []target{
		{PurgeKeys, req.Keys, MaxKeys, cachekey.Canonical, CodeBadKey},
		{PurgeTags, req.Tags, MaxTags, func(s string) (string, error) { return s, cachekey.Tag(s) }, CodeBadTag},
		{PurgePrefixes, req.Prefixes, MaxPrefixes, CanonicalPrefix, CodeBadPrefix},
		{PurgeHosts, req.Hosts, MaxHosts, cachekey.ParseHost, CodeBadHost},
	} {
		if t.list != nil {
			set = append(set, t)
		}
	}
	if req.Everything != "" {
		set = append(set, target{PurgeEverything, []string{req.Everything}, 1, CanonicalOrigin, CodeBadOrigin})
	}
	if len(set) != 1 {
		return purge{}, refuse(http.StatusBadRequest, CodeBadTarget, "give exactly one of keys, tags, prefixes, hosts, everything")
	}
	t := set[0]
	switch {
	case len(t.list) == 0:
		return purge{}, refuse(http.StatusBadRequest, CodeEmptyList, t.kind+" is empty")
	case len(t.list) > t.limit:
		return purge{}, refuse(http.StatusBadRequest, CodeListTooLong, fmt.Sprintf("%d %s, limit %d", len(t.list), t.kind, t.limit))
	}
	p.kind = t.kind
	seen := make(map[string]bool, len(t.list))
	for i, raw := range t.list {
		c, err := t.canon(raw)
		if err != nil {
			return purge{}, refuse(http.StatusBadRequest, t.code, fmt.Sprintf("%s[%d]: %v", t.kind, i, err))
		}
		if !seen[c] {
			seen[c] = true
			p.targets = append(p.targets, c)
		}
	}
	return p, nil
}

func decodeError(err error, maxBody int64) *apiError {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return refuse(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("body over %d bytes", maxBody))
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return refuse(http.StatusBadRequest, CodeUnknownField, strings.TrimPrefix(msg, "json: "))
	}
	if errors.Is(err, io.EOF) {
		return refuse(http.StatusBadRequest, CodeMalformedJSON, "empty body")
	}
	return refuse(http.StatusBadRequest, CodeMalformedJSON, err.Error())
}

func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > MaxIdempotencyKeyBytes {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
