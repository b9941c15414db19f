package coverage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHandlerAndClient(t *testing.T) {
	clk := &fakeClock{now: t0}
	tk, err := New(WithClock(clk.Now), WithMaxTransitions(10))
	if err != nil {
		t.Fatal(err)
	}
	tk.AddTransition(tr("tx/1", "https://shop.example/cart", 3))
	tk.AddReceipt(rc("https://shop.example/cart", 3, "a", 40*time.Millisecond))
	tk.AddReceipt(rc("https://shop.example/cart", 3, "b", 1500*time.Millisecond))
	mux := http.NewServeMux()
	mux.Handle("/v1/coverage/", tk.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &Client{Base: srv.URL + "/"}

	rep, err := c.Tx(context.Background(), "tx/1")
	if err != nil {
		t.Fatal(err)
	}
	want := TransitionCoverage{Key: "https://shop.example/cart", Version: 3, CommittedAt: t0, Clients: 2,
		Lag: Lag{P50: 40 * time.Millisecond, P99: 1500 * time.Millisecond, Max: 1500 * time.Millisecond}}
	if rep.TxID != "tx/1" || len(rep.Transitions) != 1 || rep.Transitions[0] != want {
		t.Fatalf("report %+v, want one %+v", rep, want)
	}
	if w := rep.Window; w.Transitions != 1 || w.MaxTransitions != 10 || w.MaxAgeSeconds != 3600 || !w.Oldest.Equal(t0) {
		t.Errorf("window %+v", w)
	}

	_, err = c.Tx(context.Background(), "tx-unknown")
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.TxID != "tx-unknown" || nf.Window.MaxTransitions != 10 {
		t.Fatalf("unknown tx: %v, want a *NotFoundError with the window", err)
	}
	t.Log(nf.Message)

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "scorer on fire", http.StatusInternalServerError)
	}))
	defer broken.Close()
	var se *StatusError
	if _, err := (&Client{Base: broken.URL}).Tx(context.Background(), "x"); !errors.As(err, &se) || se.Code != 500 || se.Body != "scorer on fire" {
		t.Errorf("500: %v, want a *StatusError with the body", err)
	}
	resp, err := http.Post(srv.URL+"/v1/coverage/tx", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}
