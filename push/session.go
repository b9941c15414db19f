package push

import (
	"context"
	"sync"
	"time"
)

// frame is one server → client frame, encoded; pos is set for frames that
// carry a position (SSE uses it as the event id).
type frame struct {
	t    string
	pos  string
	data []byte
}

// session is one subscribed client, whatever its transport. The hub fills
// its queue; the transport's writer drains it. A session never blocks the
// hub: a queue that stays over its limit past the deadline closes it.
type session struct {
	id        string
	transport string
	channels  []string
	chash     uint32
	limit     int           // queue length counted as full
	deadline  time.Duration // how long the queue may stay full

	mu        sync.Mutex
	queue     []frame
	fullSince time.Time
	closed    *CloseError
	wake      chan struct{}
	done      chan struct{}
	// kick, when set, is called after a frame is queued and when the
	// session closes, for transports that run their writer only when
	// there is something to do. Set before the session is registered.
	kick func()
	// drain, when set, writes what is queued. The transport sets it while
	// the session is being subscribed, when its writer does not run yet,
	// so that a replay longer than the queue's room can go on (waitRoom).
	drain func() error

	// Owned by the hub, under hub.mu.
	stamp    uint64
	floor    []int64 // per partition, offsets below are not delivered; nil when none
	catching bool
	pending  []frame
	wakeDue  bool // frames were added since the hub last woke the writer (hub.unwoken holds s)

	// Owned by the transport's reader: closed when the answer to the last
	// receipts frame was queued (handleFrame).
	lastReceipt chan struct{}
}

func newSession(id, transport string, channels []string, limit int, deadline time.Duration) *session {
	return &session{id: id, transport: transport, channels: channels, chash: ChannelHash(channels),
		limit: limit, deadline: deadline, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// enqueue appends f and wakes the writer; false if the session is closed
// or was closed as slow.
func (s *session) enqueue(f frame, now time.Time) bool {
	if !s.add(f, now) {
		return false
	}
	s.notify()
	return true
}

// add appends f without waking the writer: the caller calls notify once
// it has queued what it has.
func (s *session) add(f frame, now time.Time) bool {
	s.mu.Lock()
	if s.closed != nil {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, f)
	slow := s.overLimitLocked(now)
	s.mu.Unlock()
	if slow {
		s.close(closeErr(CodeSlowConsumer, "send buffer full past the deadline"))
		return false
	}
	return true
}

// notify wakes the transport's writer.
func (s *session) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if s.kick != nil {
		s.kick()
	}
}

// overLimitLocked tracks how long the queue has been full and reports
// whether the session must go.
func (s *session) overLimitLocked(now time.Time) bool {
	if len(s.queue) < s.limit {
		return false
	}
	if s.fullSince.IsZero() {
		s.fullSince = now
	}
	return now.Sub(s.fullSince) > s.deadline || len(s.queue) > 4*s.limit
}

// checkSlow closes the session if its queue has stayed full too long.
func (s *session) checkSlow(now time.Time) {
	s.mu.Lock()
	slow := s.closed == nil && s.overLimitLocked(now)
	s.mu.Unlock()
	if slow {
		s.close(closeErr(CodeSlowConsumer, "send buffer full past the deadline"))
	}
}

// take returns every queued frame (reusing spare's storage for the queue).
func (s *session) take(spare []frame) []frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = spare[:0]
	s.fullSince = time.Time{}
	return q
}

// close ends the session with err; the first call wins.
func (s *session) close(err *CloseError) {
	s.mu.Lock()
	first := s.closed == nil
	if first {
		s.closed = err
		close(s.done)
	}
	s.mu.Unlock()
	if first && s.kick != nil {
		s.kick()
	}
}

// closeReason returns why the session was closed, or nil.
func (s *session) closeReason() *CloseError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// waitRoom waits until the queue is at most half full, so a replay never
// pushes a session over its limit, writing the queue itself where the
// transport set drain; it fails when the session closes.
func (s *session) waitRoom(ctx context.Context) error {
	for {
		s.mu.Lock()
		n, closed := len(s.queue), s.closed
		s.mu.Unlock()
		if closed != nil {
			return closed
		}
		if n < s.limit/2+1 {
			return nil
		}
		if s.drain != nil {
			if err := s.drain(); err != nil {
				s.close(closeErr(CodeSlowConsumer, "write did not complete in time"))
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
		case <-time.After(time.Millisecond):
		}
	}
}
