package purgeapi

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A purge in flight when the server is told to stop is committed and
// answered; new connections are refused meanwhile.
func TestShutdownFinishesInFlightSubmit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DrainTimeout = time.Minute })
	secret := h.token(TokenSpec{Scopes: "purge:keys"})
	release, started := make(chan struct{}), make(chan struct{})
	h.ledger.block, h.ledger.started = release, started

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.srv.Serve(ctx, ln) }()

	type answer struct {
		status int
		res    PurgeResult
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/purge", strings.NewReader(`{"keys":["img:a"]}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		var a answer
		a.status = resp.StatusCode
		a.err = json.NewDecoder(resp.Body).Decode(&a.res)
		answered <- a
	}()
	<-started
	stop()
	// Shutdown closes the listener first: wait until a new dial fails.
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned with a submit in flight: %v", err)
	case a := <-answered:
		t.Fatalf("answered before the submit finished: %+v", a)
	default:
	}
	close(release)
	a := <-answered
	if a.err != nil || a.status != http.StatusOK || a.res.TxID == "" {
		t.Fatalf("in-flight purge: %+v", a)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// Past DrainTimeout, Serve gives up on a submit that does not finish and says so.
func TestShutdownDrainTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DrainTimeout = 50 * time.Millisecond })
	secret := h.token(TokenSpec{Scopes: "purge:keys"})
	release, started := make(chan struct{}), make(chan struct{})
	defer close(release)
	h.ledger.block, h.ledger.started = release, started
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.srv.Serve(ctx, ln) }()
	go func() {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/purge", strings.NewReader(`{"keys":["img:a"]}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	stop()
	if err := <-served; err != context.DeadlineExceeded {
		t.Errorf("Serve after the drain timeout: %v, want context.DeadlineExceeded", err)
	}
}
