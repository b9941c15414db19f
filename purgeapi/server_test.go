package purgeapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// problem decodes a refusal strictly.
func problem(t *testing.T, body []byte) Problem {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var p Problem
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("refusal body %q: %v", body, err)
	}
	if p.Message == "" {
		t.Errorf("refusal %s has no message", p.Code)
	}
	return p
}

func TestRefusals(t *testing.T) {
	big := `{"reason":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`
	cases := []struct {
		name    string
		method  string
		path    string
		token   string // "admin", "narrow", "expired", "revoked", "unknown", "garbage" or ""
		body    string
		header  []string
		ledger  error
		status  int
		code    Code
		retryIn string // Retry-After, when set
	}{
		{name: "malformed json", body: `{"keys":`, status: 400, code: CodeMalformedJSON},
		{name: "wrong type", body: `{"keys":"img:a"}`, status: 400, code: CodeMalformedJSON},
		{name: "trailing data", body: `{"keys":["img:a"]} {}`, status: 400, code: CodeMalformedJSON},
		{name: "empty body", body: ``, status: 400, code: CodeMalformedJSON},
		{name: "unknown field", body: `{"urls":["https://a.example/"]}`, status: 400, code: CodeUnknownField},
		{name: "no target", body: `{"reason":"x"}`, status: 400, code: CodeBadTarget},
		{name: "two targets", body: `{"keys":["img:a"],"tags":["t"]}`, status: 400, code: CodeBadTarget},
		{name: "keys and everything", body: `{"keys":["img:a"],"everything":"https://a.example"}`, status: 400, code: CodeBadTarget},
		{name: "empty keys", body: `{"keys":[]}`, status: 400, code: CodeEmptyList},
		{name: "empty hosts", body: `{"hosts":[]}`, status: 400, code: CodeEmptyList},
		{name: "too many keys", body: keysBody(MaxKeys+1, func(i int) string { return "img:" + strings.Repeat("a", i%7+1) }), status: 400, code: CodeListTooLong},
		{name: "too many hosts", body: `{"hosts":[` + strings.Repeat(`"a.example",`, MaxHosts) + `"b.example"]}`, status: 400, code: CodeListTooLong},
		{name: "userinfo key", body: `{"keys":["https://user@shop.example/"]}`, status: 400, code: CodeBadKey},
		{name: "bad key after good ones", body: `{"keys":["img:a","img:b","ftp://x/"]}`, status: 400, code: CodeBadKey},
		{name: "non-canonical tag", body: `{"tags":["Sale"]}`, status: 400, code: CodeBadTag},
		{name: "prefix with query", body: `{"prefixes":["https://shop.example/a?x=1"]}`, status: 400, code: CodeBadPrefix},
		{name: "opaque prefix", body: `{"prefixes":["img:a"]}`, status: 400, code: CodeBadPrefix},
		{name: "bad host", body: `{"hosts":["1.2.3.256"]}`, status: 400, code: CodeBadHost},
		{name: "origin with path", body: `{"everything":"https://shop.example/a"}`, status: 400, code: CodeBadOrigin},
		{name: "reason too long", body: `{"keys":["img:a"],"reason":"` + strings.Repeat("r", MaxReasonBytes+1) + `"}`, status: 400, code: CodeReasonTooLong},
		{name: "idempotency key with control", body: `{"keys":["img:a"]}`, header: []string{"Idempotency-Key", "a\tb"}, status: 400, code: CodeBadIdempotencyKey},
		{name: "idempotency key too long", body: `{"keys":["img:a"]}`, header: []string{"Idempotency-Key", strings.Repeat("k", MaxIdempotencyKeyBytes+1)}, status: 400, code: CodeBadIdempotencyKey},
		{name: "not json", body: `{"keys":["img:a"]}`, header: []string{"Content-Type", "text/plain"}, status: 415, code: CodeUnsupportedMedia},
		{name: "body too large", body: big, status: 413, code: CodeBodyTooLarge},
		{name: "no token", token: "-", body: `{"keys":["img:a"]}`, status: 401, code: CodeUnauthenticated},
		{name: "garbage token", token: "garbage", body: `{"keys":["img:a"]}`, status: 401, code: CodeUnauthenticated},
		{name: "wrong secret", token: "unknown", body: `{"keys":["img:a"]}`, status: 401, code: CodeUnauthenticated},
		{name: "expired token", token: "expired", body: `{"keys":["img:a"]}`, status: 401, code: CodeTokenExpired},
		{name: "revoked token", token: "revoked", body: `{"keys":["img:a"]}`, status: 401, code: CodeTokenRevoked},
		{name: "out of scope", token: "narrow", body: `{"keys":["img:a"]}`, status: 403, code: CodeOutOfScope},
		{name: "read out of scope", token: "narrow", method: "GET", path: "/v1/entries/img:a", status: 403, code: CodeOutOfScope},
		{name: "read bad key", method: "GET", path: "/v1/entries/ftp:%2F%2Fx", status: 400, code: CodeBadKey},
		{name: "entry not found", method: "GET", path: "/v1/entries/img:none", status: 404, code: CodeNotFound},
		{name: "malformed tx id", method: "GET", path: "/v1/tx/xyz", status: 404, code: CodeNotFound},
		{name: "no peer", body: `{"keys":["img:a"]}`, ledger: &LedgerError{Code: LedgerUnavailable, Message: "no peer reachable"}, status: 503, code: CodeUnavailable, retryIn: "1"},
		{name: "no peer on read", method: "GET", path: "/v1/history/img:a", ledger: &LedgerError{Code: LedgerUnavailable, Message: "down"}, status: 503, code: CodeUnavailable, retryIn: "1"},
		{name: "commit timeout", body: `{"keys":["img:a"]}`, ledger: &LedgerError{Code: LedgerTimeout, TxID: "t1", Message: "late"}, status: 504, code: CodeTimeout},
		{name: "conflict", body: `{"keys":["img:a"]}`, ledger: &LedgerError{Code: LedgerConflict, Message: "MVCC"}, status: 409, code: CodeConflict},
		{name: "org refused", body: `{"keys":["img:a"]}`, ledger: &LedgerError{Code: LedgerForbidden, Message: "not owner"}, status: 403, code: CodeLedgerForbidden},
		{name: "contract refused", body: `{"keys":["img:a"]}`, ledger: &LedgerError{Code: LedgerRefused, Message: "bad"}, status: 422, code: CodeLedgerRefused},
		{name: "not supported", body: `{"prefixes":["https://shop.example/"]}`, ledger: &LedgerError{Code: LedgerNotSupported, Message: "prefix purges are not supported"}, status: 501, code: CodeNotSupported},
		{name: "other ledger failure", body: `{"keys":["img:a"]}`, ledger: errors.New("boom"), status: 502, code: CodeLedgerFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.ledger.err = tc.ledger
			tokens := map[string]string{
				"admin":   h.token(TokenSpec{Scopes: "purge:*,read"}),
				"narrow":  h.token(TokenSpec{Scopes: "prefix:https://shop.example/assets/"}),
				"expired": h.token(TokenSpec{Scopes: "purge:*", Expires: time.Minute}),
				"garbage": "abc",
			}
			revoked, rt, err := h.tokens.Create(TokenSpec{Scopes: "purge:*"}, h.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			tokens["revoked"] = revoked
			tokens["unknown"] = tamper(tokens["admin"])
			if err := h.tokens.Revoke(rt.ID, h.clock.Now()); err != nil {
				t.Fatal(err)
			}
			h.clock.Add(time.Hour)
			method, path, tok := tc.method, tc.path, tc.token
			if method == "" {
				method, path = "POST", "/v1/purge"
			}
			if tok == "" {
				tok = "admin"
			}
			w := h.do(method, path, tokens[tok], tc.body, tc.header...)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if p := problem(t, w.Body.Bytes()); p.Code != tc.code {
				t.Errorf("code %q, want %q (%s)", p.Code, tc.code, p.Message)
			}
			if got := w.Header().Get("WWW-Authenticate"); (got != "") != (tc.status == 401) {
				t.Errorf("WWW-Authenticate %q on a %d", got, tc.status)
			}
			if got := w.Header().Get("Retry-After"); got != tc.retryIn {
				t.Errorf("Retry-After %q, want %q", got, tc.retryIn)
			}
			if tc.ledger == nil && len(h.ledger.writes()) != 0 {
				t.Errorf("a refused request reached the ledger: %+v", h.ledger.writes())
			}
		})
	}
}

func TestPurgeAnswersAndPassesThrough(t *testing.T) {
	h := newHarness(t, nil)
	secret, tok, err := h.tokens.Create(TokenSpec{Name: "deploy", Scopes: "purge:keys"}, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	w := h.do("POST", "/v1/purge", secret,
		`{"keys":["HTTPS://Shop.Example:443/a/../b?z=1&a=2","img:x","https://shop.example/b?a=2&z=1"],"soft":true,"reason":"deploy"}`,
		"Idempotency-Key", "deploy-41", "Content-Type", "application/json; charset=utf-8")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	var res PurgeResult
	if err := dec.Decode(&res); err != nil {
		t.Fatal(err)
	}
	if res.TxID == "" || res.Block != 7 || len(res.Entries) != 2 || res.Entries[0].Version != 2 || res.Invalidated == nil || *res.Invalidated != 2 {
		t.Errorf("answer %+v", res)
	}
	calls := h.ledger.writes()
	if len(calls) != 1 {
		t.Fatalf("%d ledger calls", len(calls))
	}
	want := call{"InvalidateKeys", []string{"https://shop.example/b?a=2&z=1", "img:x"},
		SubmitOptions{Soft: true, Reason: "deploy", IdempotencyKey: "deploy-41", TokenID: tok.ID}, trace.TraceID{}}
	got := calls[0]
	if got.method != want.method || strings.Join(got.targets, " ") != strings.Join(want.targets, " ") || got.opts != want.opts {
		t.Errorf("ledger got %+v, want %+v (canonical, deduplicated, token named)", got, want)
	}
	// A scope purge does not count what it covers: no "invalidated".
	secret2, _, err := h.tokens.Create(TokenSpec{Name: "tags", Scopes: "purge:tags"}, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if w := h.do("POST", "/v1/purge", secret2, `{"tags":["catalog"]}`); w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"invalidated"`) {
		t.Errorf("tag purge: %d %s, want 200 without a count", w.Code, w.Body)
	}
}

func TestEntryKeyIsUnescapedAndCanonicalized(t *testing.T) {
	h := newHarness(t, nil)
	h.ledger.entries = map[string]Entry{"https://shop.example/a b": {Key: "https://shop.example/a%20b"}, "https://shop.example/a%20b": {Key: "https://shop.example/a%20b", Version: 3}}
	secret := h.token(TokenSpec{Scopes: "read"})
	w := h.do("GET", "/v1/entries/HTTPS%3A%2F%2FShop.Example%2Fx%2F..%2Fa%2520b", secret, "")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var e Entry
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Version != 3 {
		t.Errorf("entry %+v, %v", e, err)
	}
}

func TestMetricsCountRoutesAndCodes(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, func(c *Config) { c.Registerer = reg })
	secret := h.token(TokenSpec{Scopes: "purge:keys"})
	h.do("POST", "/v1/purge", secret, `{"keys":["img:a"]}`)
	h.do("POST", "/v1/purge", secret, `{"keys":[]}`)
	h.do("POST", "/v1/purge", secret, `{"keys":[]}`)
	counts := map[string]float64{}
	histograms := 0
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := ""
			for _, l := range m.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + " "
			}
			switch mf.GetName() {
			case "cachet_purgeapi_requests_total":
				counts[labels] = m.GetCounter().GetValue()
			case "cachet_purgeapi_submit_seconds":
				histograms += int(m.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{"code=200 route=POST /v1/purge ": 1, "code=400 route=POST /v1/purge ": 2}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("requests counted %v, want %v", counts, want)
	}
	if histograms != 1 {
		t.Errorf("%d submits observed, want 1 (refusals are not submits)", histograms)
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	store, _ := OpenTokenStore(t.TempDir() + "/t.json")
	for _, cfg := range []Config{{Tokens: store}, {Ledger: &fakeLedger{}}, {Ledger: &fakeLedger{}, Tokens: store, DefaultRate: Rate{Events: 3}}} {
		var ce *ConfigError
		if _, err := New(cfg); !errors.As(err, &ce) {
			t.Errorf("New(%+v) = %v, want a *ConfigError", cfg, err)
		}
	}
}

// A purge's trace continues the caller's: the write runs in a context whose
// trace is the one the request's traceparent names.
func TestPurgeContinuesTheCallersTrace(t *testing.T) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })
	h := newHarness(t, nil)
	secret := h.token(TokenSpec{Scopes: "purge:tags"})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if w := h.do("POST", "/v1/purge", secret, `{"tags":["catalog"]}`, "traceparent", tp); w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if w := h.do("POST", "/v1/purge", secret, `{"tags":["other"]}`); w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	calls := h.ledger.writes()
	if len(calls) != 2 || calls[0].trace.String() != "4bf92f3577b34da6a3ce929d0e0e4736" || calls[1].trace.IsValid() {
		t.Errorf("traces of the writes: %+v, want the caller's, then none", calls)
	}
}
