package relay

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// State is where a relay is in its life, as its health check reports it.
type State int32

// A relay starts (StateStarting) until it has joined the channel's lease,
// then waits (StateStandby) or leads (StateLeading), and is StateStopping
// from the moment its Run context ends.
const (
	StateStarting State = iota
	StateStandby
	StateLeading
	StateStopping
)

func (s State) String() string {
	switch s {
	case StateStarting:
		return "starting"
	case StateStandby:
		return "standby"
	case StateLeading:
		return "leading"
	case StateStopping:
		return "stopping"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// defaultUnhealthyAfter is how long a leader's Kafka sessions may keep
// failing before its health check fails.
const defaultUnhealthyAfter = time.Minute

// Health is what the relay's health check reports.
type Health struct {
	State State
	// KafkaFailingFor is how long this leader's Kafka sessions have been
	// failing (0: not failing, or not leading): set at a session's first
	// failure, cleared once a session is initialized again.
	KafkaFailingFor time.Duration
}

// Health returns the relay's state now.
func (r *Relay) Health() Health {
	h := Health{State: State(r.state.Load())}
	if since := r.kafkaFailingSince.Load(); since != 0 && h.State == StateLeading {
		h.KafkaFailingFor = time.Since(time.Unix(0, since))
	}
	return h
}

// Healthy reports whether the relay does its job: it is standing by or
// leading, and, leading, its Kafka sessions have not been failing for
// longer than Config.UnhealthyAfter.
func (h Health) Healthy(unhealthyAfter time.Duration) bool {
	switch h.State {
	case StateStandby:
		return true
	case StateLeading:
		return h.KafkaFailingFor <= unhealthyAfter
	}
	return false
}

// HealthHandler serves the health check (/healthz): 200 and the state
// ("leading", "standby") while healthy, 503 and the reason while starting,
// stopping, or leading with Kafka failing for longer than
// Config.UnhealthyAfter (1 minute) — a restart then gets a fresh client
// and lets a standby lead.
func (r *Relay) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := r.Health()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		msg := h.State.String()
		if h.KafkaFailingFor > 0 {
			msg += fmt.Sprintf(", kafka failing for %s", h.KafkaFailingFor.Round(time.Second))
		}
		if !h.Healthy(r.cfg.UnhealthyAfter) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, msg)
	})
}

// setState records s unless the relay is already stopping.
func (r *Relay) setState(s State) {
	for {
		old := r.state.Load()
		if State(old) == StateStopping || r.state.CompareAndSwap(old, int32(s)) {
			return
		}
	}
}

// stopOnDone marks the relay stopping as soon as ctx ends.
func (r *Relay) stopOnDone(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { r.state.Store(int32(StateStopping)) })
}
