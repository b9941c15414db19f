package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cachetsync/cachet/ledger"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu  sync.Mutex
	obs []SubmitObservation
}

func (r *recorder) ObserveSubmit(o SubmitObservation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs = append(r.obs, o)
}

// TestObserverSeesEverySubmit: a client whose only peer does not answer
// tells its Observer of each submit, with the transaction and the
// refusal's code, and nothing of queries.
func TestObserverSeesEverySubmit(t *testing.T) {
	cert, key, _ := selfSigned(t, t.TempDir())
	rec := &recorder{}
	cl, err := Connect(Config{
		Peers:    []Peer{{Endpoint: "127.0.0.1:1", TLSRootCert: cert}},
		Identity: Identity{MSPID: "Org1MSP", CertPEM: cert, KeyPEM: key},
		Observer: rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if _, _, err := cl.Invalidate(ctx, "https://shop.example/a", "test", 0); CodeOf(err) != CodeUnavailable {
		t.Fatalf("Invalidate with no peer: %v, want %s", err, CodeUnavailable)
	}
	if _, _, err := cl.InvalidateBatch(ctx, []string{"https://shop.example/a", "https://shop.example/b"}, "test"); CodeOf(err) != CodeUnavailable {
		t.Fatalf("InvalidateBatch with no peer: %v, want %s", err, CodeUnavailable)
	}
	if _, err := cl.Get(ctx, "https://shop.example/a"); CodeOf(err) != CodeUnavailable {
		t.Fatalf("Get with no peer: %v, want %s", err, CodeUnavailable)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.obs) != 2 {
		t.Fatalf("observed %d submits, want 2 (queries are not submits): %+v", len(rec.obs), rec.obs)
	}
	for i, want := range []string{ledger.TxInvalidate, ledger.TxInvalidateBatch} {
		o := rec.obs[i]
		if o.Transaction != want || o.Attempts != 1 || o.Duration <= 0 || CodeOf(o.Err) != CodeUnavailable {
			t.Errorf("observation %d: %+v, want %s, 1 attempt, a duration, %s", i, o, want, CodeUnavailable)
		}
	}
}

func TestCodeOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Code
	}{
		{nil, ""},
		{&Error{Code: CodeEndorsementPolicy, Stage: StageCommit}, CodeEndorsementPolicy},
		{fmt.Errorf("purge: %w", &Error{Code: CodeConflict}), CodeConflict},
		{errors.New("not from the gateway"), CodeUnknown},
	} {
		if got := CodeOf(tc.err); got != tc.want {
			t.Errorf("CodeOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	seen := map[Code]bool{}
	for _, c := range Codes() {
		if c == "" || seen[c] {
			t.Errorf("Codes() lists %q twice or empty", c)
		}
		seen[c] = true
	}
}
