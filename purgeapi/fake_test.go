package purgeapi

import (
	"context"
	"fmt"
	"github.com/cachetsync/cachet/ledger"
	"go.opentelemetry.io/otel/trace"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// call is one write the fake ledger received.
type call struct {
	method  string
	targets []string
	opts    SubmitOptions
	trace   trace.TraceID // of the context the write got
}

// fakeLedger records writes and answers what err and entries say.
type fakeLedger struct {
	mu      sync.Mutex
	calls   []call
	err     error            // returned by every method when set
	entries map[string]Entry // Get
	block   chan struct{}    // when set, writes wait for it to close
	started chan struct{}    // when set, closed by the first write
}

func (f *fakeLedger) write(ctx context.Context, method string, targets []string, opts SubmitOptions) (PurgeResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{method, append([]string(nil), targets...), opts, trace.SpanContextFromContext(ctx).TraceID()})
	if f.started != nil {
		close(f.started)
		f.started = nil
	}
	block, err := f.block, f.err
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return PurgeResult{}, &LedgerError{Code: LedgerTimeout, Op: method, Message: ctx.Err().Error()}
		}
	}
	if err != nil {
		return PurgeResult{}, err
	}
	res := PurgeResult{TxID: strings.Repeat("ab", 32), Block: 7}
	if method == "InvalidateKeys" {
		n := len(targets)
		res.Invalidated = &n
		for _, k := range targets {
			res.Entries = append(res.Entries, KeyVersion{Key: k, Version: 2, State: "INVALIDATED"})
		}
	}
	return res, nil
}

func (f *fakeLedger) InvalidateKeys(ctx context.Context, keys []string, o SubmitOptions) (PurgeResult, error) {
	return f.write(ctx, "InvalidateKeys", keys, o)
}
func (f *fakeLedger) PurgeTags(ctx context.Context, tags []string, o SubmitOptions) (PurgeResult, error) {
	return f.write(ctx, "PurgeTags", tags, o)
}
func (f *fakeLedger) PurgePrefixes(ctx context.Context, p []string, o SubmitOptions) (PurgeResult, error) {
	return f.write(ctx, "PurgePrefixes", p, o)
}
func (f *fakeLedger) PurgeHosts(ctx context.Context, h []string, o SubmitOptions) (PurgeResult, error) {
	return f.write(ctx, "PurgeHosts", h, o)
}
func (f *fakeLedger) PurgeOrigin(ctx context.Context, origin string, o SubmitOptions) (PurgeResult, error) {
	return f.write(ctx, "PurgeOrigin", []string{origin}, o)
}

func (f *fakeLedger) Get(_ context.Context, key string) (Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Entry{}, f.err
	}
	e, ok := f.entries[key]
	if !ok {
		return Entry{}, &LedgerError{Code: LedgerNotFound, Op: "Get", Message: "no entry for " + key}
	}
	return e, nil
}

func (f *fakeLedger) History(_ context.Context, key string) ([]HistoryRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if e, ok := f.entries[key]; ok {
		at, _ := time.Parse(time.RFC3339Nano, e.UpdatedAt)
		return []HistoryRecord{{TxID: e.TxID, Timestamp: at, Valid: true, Validation: "VALID", Op: ledger.OpPublish, Version: e.Version,
			State: string(e.State), Owner: e.Owner, Submitter: Party{Org: e.Owner}, Policy: Policy{Source: "chaincode"}}}, nil
	}
	return nil, nil
}

func (f *fakeLedger) TxStatus(_ context.Context, id string) (TxStatus, error) {
	if f.err != nil {
		return TxStatus{}, f.err
	}
	return TxStatus{TxID: id, State: TxCommitted, Block: 7}, nil
}

func (f *fakeLedger) writes() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var epoch = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// harness is a Server over a fake ledger and a token store in a temp dir.
type harness struct {
	t      *testing.T
	ledger *fakeLedger
	tokens *TokenStore
	clock  *clock
	srv    *Server
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	store, err := OpenTokenStore(t.TempDir() + "/tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ledger: &fakeLedger{}, tokens: store, clock: &clock{t: epoch}}
	cfg := Config{Ledger: h.ledger, Tokens: store, Now: h.clock.Now, DefaultRate: Rate{Events: 1000, Per: time.Second},
		Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	if h.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return h
}

// token creates a token and returns its secret.
func (h *harness) token(spec TokenSpec) string {
	h.t.Helper()
	secret, _, err := h.tokens.Create(spec, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// do sends one request and returns the recorder.
func (h *harness) do(method, path, token, body string, header ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(w, r)
	return w
}

func keysBody(n int, f func(i int) string) string {
	var b strings.Builder
	b.WriteString(`{"keys":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", f(i))
	}
	b.WriteString("]}")
	return b.String()
}
