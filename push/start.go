package push

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachetsync/cachet/kafka"
)

// StartConfig bounds how Start waits for Kafka. Zero values take the
// defaults in parentheses.
type StartConfig struct {
	// MinBackoff and MaxBackoff bound the jittered wait between attempts
	// (500 ms, doubling to 10 s).
	MinBackoff, MaxBackoff time.Duration
	// PingTimeout bounds one attempt to reach the brokers (5 s); each
	// attempt uses a new client, so brokers that come up are found at
	// once rather than after the client's own reconnect backoff.
	PingTimeout time.Duration
}

func (c *StartConfig) defaults() {
	if c.MinBackoff <= 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 5 * time.Second
	}
}

// Starter brings a Server up while Kafka may not answer yet. Until New
// succeeds its Handler answers /healthz with 503 and the reason, and every
// other request with 503 and Retry-After; then it hands every request to
// the Server. Brokers that cannot be reached and topics that do not exist
// yet are retried with backoff; brokers that refuse the client (SASL, TLS)
// and settings that cannot work end the start.
type Starter struct {
	cfg     Config
	sc      StartConfig
	reason  atomic.Pointer[string]
	handler atomic.Pointer[http.Handler]
	ready   chan struct{} // closed once srv or err is set
	srv     *Server
	err     error
	cancel  context.CancelFunc
	done    chan struct{} // closed when the start loop returned
	once    sync.Once
}

// StartError is a start that waiting does not cure: the reason the brokers
// refused the client, or why the settings cannot work.
type StartError struct{ Err error }

func (e *StartError) Error() string { return "push: start: " + e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Start checks cfg and returns at once; the server starts in the
// background once Kafka answers (Ready). A Config that cannot work is
// returned here. ctx bounds the start only.
func Start(ctx context.Context, cfg Config, sc StartConfig) (*Starter, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	sc.defaults()
	ctx, cancel := context.WithCancel(ctx)
	s := &Starter{cfg: cfg, sc: sc, ready: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	why := "connecting to Kafka at " + cfg.Kafka.Brokers
	s.reason.Store(&why)
	go s.run(ctx)
	return s, nil
}

func (s *Starter) run(ctx context.Context) {
	defer close(s.done)
	defer close(s.ready)
	for attempt := 0; ; attempt++ {
		srv, err := s.attempt(ctx)
		if err == nil {
			h := srv.Handler()
			s.srv = srv
			s.handler.Store(&h)
			return
		}
		if ctx.Err() != nil {
			s.err = ctx.Err()
			return
		}
		if permanent(err) {
			s.err = &StartError{Err: err}
			return
		}
		why := fmt.Sprintf("waiting for Kafka: %v", err)
		s.reason.Store(&why)
		wait := min(s.sc.MaxBackoff, s.sc.MinBackoff<<min(attempt, 16))
		wait = wait/2 + rand.N(wait/2+1)
		s.cfg.Log.Warn("push: Kafka not ready", "err", err, "retry_in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			s.err = ctx.Err()
			return
		}
	}
}

// attempt pings the brokers (which fails at once on refused credentials)
// and builds the server.
func (s *Starter) attempt(ctx context.Context) (*Server, error) {
	pctx, cancel := context.WithTimeout(ctx, s.sc.PingTimeout)
	err := kafka.Ping(pctx, s.cfg.Kafka)
	cancel()
	if err != nil {
		return nil, err
	}
	return New(ctx, s.cfg)
}

// permanent reports a failure that waiting does not cure.
func permanent(err error) bool {
	var (
		conn   *kafka.ConnectError
		kconf  *kafka.ConfigError
		client *kafka.ClientError
		pconf  *ConfigError
	)
	switch {
	case errors.As(err, &conn):
		return conn.Refused()
	case errors.As(err, &kconf), errors.As(err, &client), errors.As(err, &pconf), errors.Is(err, kafka.ErrNoTopicID):
		return true
	}
	return false
}

// Ready is closed once the server runs or the start ended (Server says
// which).
func (s *Starter) Ready() <-chan struct{} { return s.ready }

// Server returns the running server once Ready is closed: or the
// *StartError or context error that ended the start. Before, it returns
// nil and nil.
func (s *Starter) Server() (*Server, error) {
	select {
	case <-s.ready:
		return s.srv, s.err
	default:
		return nil, nil
	}
}

// Handler serves the Server's endpoints once it runs; before, /healthz
// answers 503 with the reason and everything else 503 with Retry-After.
func (s *Starter) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := s.handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		reason := "starting: " + *s.reason.Load()
		if _, err := s.Server(); err != nil {
			reason = "not started: " + err.Error()
		}
		if r.URL.Path != "/healthz" {
			w.Header().Set("Retry-After", "5")
			reason = "push server not ready"
		}
		http.Error(w, reason, http.StatusServiceUnavailable)
	})
}

// Close stops a start still waiting for Kafka, or closes the server.
func (s *Starter) Close() {
	s.once.Do(func() {
		s.cancel()
		<-s.done
		if s.srv != nil {
			s.srv.Close()
		}
	})
}
