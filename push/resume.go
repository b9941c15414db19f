package push

import (
	"context"
	"time"
)

// subscribe registers ss with the hub and queues its welcome, then either
// the transitions it missed since pos, or a reset. It returns once ss is
// live; an error means a catch-up from Kafka failed and ss must be closed
// (the client reconnects and is resumed or reset then).
func (s *Server) subscribe(ctx context.Context, ss *session, posStr string, exp time.Time) error {
	h := s.hub
	welcome := func(pos string, resumed bool) frame {
		return frame{t: TypeWelcome, pos: pos, data: mustJSON(WelcomeFrame{T: TypeWelcome, V: ProtocolVersion,
			Session: ss.id, Channels: ss.channels, Pos: pos, Resumed: resumed, Exp: exp.Unix(), Limits: s.limitsJSON()})}
	}
	live := func(reset string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		pos := h.posLocked(ss).String()
		now := h.now()
		ss.enqueue(welcome(pos, false), now)
		if reset != "" {
			ss.enqueue(frame{t: TypeReset, pos: pos, data: mustJSON(ResetFrame{T: TypeReset, Reason: reset, Pos: pos})}, now)
			s.m.resumes.WithLabelValues("reset-" + reset).Inc()
		} else {
			s.m.resumes.WithLabelValues("fresh").Inc()
		}
		h.registerLocked(ss)
	}
	if posStr == "" {
		live("")
		return nil
	}
	p, err := ParsePosition(posStr)
	switch {
	case err != nil:
		live(ResetPosition)
		return nil
	case p.Epoch != h.epoch || len(p.Offsets) != len(h.next):
		live(ResetEpoch)
		return nil
	case p.Channels != ss.chash:
		live(ResetChannels)
		return nil
	}
	next, complete := h.snapshot()
	needKafka := false
	for i, o := range p.Offsets {
		switch {
		case o > next[i]:
			_, high, err := s.src.watermarks(ctx, i)
			if err != nil {
				return err
			}
			if o > high {
				live(ResetPosition)
				return nil
			}
		case o < complete[i]:
			low, _, err := s.src.watermarks(ctx, i)
			if err != nil {
				return err
			}
			if o < low {
				live(ResetRetention)
				return nil
			}
			needKafka = true
		}
	}

	h.mu.Lock()
	now := h.now()
	ss.enqueue(welcome(posStr, true), now)
	ss.floor = nil
	for i, o := range p.Offsets {
		if o > h.next[i] {
			if ss.floor == nil {
				ss.floor = make([]int64, len(h.next))
			}
			ss.floor[i] = o
		}
		needKafka = needKafka || o < h.complete[i]
	}
	// From here ss is registered but catching up: live frames wait in
	// ss.pending until the replay (from the window or from Kafka) is queued.
	ss.catching = true
	var target []int64
	var items []*item
	if needKafka {
		target = append([]int64(nil), h.next...)
	} else {
		for i := range h.window {
			h.window[i].from(p.Offsets[i], func(it *item) {
				if it.on(ss.channels) {
					items = append(items, it)
				}
			})
		}
	}
	h.registerLocked(ss)
	h.mu.Unlock()

	outcome := "window"
	if needKafka {
		outcome = "kafka"
		err = s.catchUpSession(ctx, ss, p.Offsets, target)
	} else {
		if ss.floor != nil {
			outcome = "ahead"
		}
		err = s.replayWindow(ctx, ss, p.Offsets, items)
	}
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now = h.now()
	for _, f := range ss.pending {
		ss.enqueue(f, now)
	}
	ss.pending, ss.catching = nil, false
	s.m.resumes.WithLabelValues(outcome).Inc()
	return nil
}

// startVector is where a resumed session's positions start: the client's
// offsets, raised to its floor where it is ahead of the hub.
func startVector(ss *session, from []int64) []int64 {
	vec := append([]int64(nil), from...)
	for i := range vec {
		if ss.floor != nil {
			vec[i] = max(vec[i], ss.floor[i])
		}
	}
	return vec
}

// replayWindow queues items (from the replay window) to ss.
func (s *Server) replayWindow(ctx context.Context, ss *session, from []int64, items []*item) error {
	vec := startVector(ss, from)
	for _, it := range items {
		if err := ss.waitRoom(ctx); err != nil {
			return err
		}
		vec[it.part] = it.off + 1
		pos := Position{Epoch: s.hub.epoch, Channels: ss.chash, Offsets: vec}.String()
		ss.enqueue(it.frame(pos), time.Now())
	}
	return nil
}

// catchUpSession replays [from, to) from Kafka into ss.
func (s *Server) catchUpSession(ctx context.Context, ss *session, from, to []int64) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.sem }()
	vec := startVector(ss, from)
	var werr error
	err := s.src.catchUp(ctx, s.cfg.Kafka, from, to, func(part int32, off int64, value []byte) {
		vec[part] = off + 1
		it, err := s.hub.decode(part, off, value)
		if err != nil || !it.on(ss.channels) || werr != nil {
			return
		}
		if werr = ss.waitRoom(ctx); werr != nil {
			return
		}
		pos := Position{Epoch: s.hub.epoch, Channels: ss.chash, Offsets: vec}.String()
		ss.enqueue(it.frame(pos), time.Now())
	})
	if werr != nil {
		return werr
	}
	return err
}

// matches reports whether any of a transition's channels is subscribed.
func matches(itemChannels, subscribed []string) bool {
	for _, c := range itemChannels {
		for _, d := range subscribed {
			if c == d {
				return true
			}
		}
	}
	return false
}
