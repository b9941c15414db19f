package push

import (
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// item is one consumed transition or scope purge, kept in the replay
// window.
type item struct {
	part     int32
	off      int64
	t        string // TypeTransition or TypePurge
	channels []string
	host     string    // a host or tag purge: it is also on every origin channel of this host (anyOrigin: of any host)
	body     []byte    // the frame after its position
	ts       time.Time // the transaction's timestamp, for the delivery-latency histogram
}

// on reports whether it is published on any of the subscribed channels.
func (it *item) on(subscribed []string) bool {
	if matches(it.channels, subscribed) {
		return true
	}
	for _, c := range subscribed {
		if onOrigin(it.host, c) {
			return true
		}
	}
	return false
}

// frame is it's frame at position pos.
func (it *item) frame(pos string) frame {
	return frame{t: it.t, pos: pos, data: frameBytes(it.t, []byte(pos), it.body)}
}

// ring is one partition's replay window, oldest first.
type ring struct {
	buf   []*item
	start int
	n     int
}

func (r *ring) push(it *item) (evicted *item) {
	if r.n == len(r.buf) {
		evicted = r.buf[r.start]
		r.buf[r.start] = it
		r.start = (r.start + 1) % len(r.buf)
		return evicted
	}
	r.buf[(r.start+r.n)%len(r.buf)] = it
	r.n++
	return nil
}

// from calls fn for the items with offset >= off, oldest first.
func (r *ring) from(off int64, fn func(*item)) {
	for i := 0; i < r.n; i++ {
		if it := r.buf[(r.start+i)%len(r.buf)]; it.off >= off {
			fn(it)
		}
	}
}

// hub holds the stream state (where the consumer is, the replay window)
// and the channel index, and fans each transition out to its sessions.
// One consumer goroutine calls process; sessions subscribe concurrently.
type hub struct {
	mu       sync.Mutex
	epoch    string
	next     []int64 // per partition, the next offset to process
	complete []int64 // per partition, the window holds every record in [complete, next)
	window   []ring
	chans    map[string]map[*session]struct{}
	sessions map[*session]struct{}
	seq      uint64
	// purgesFrom is the position index of the purges topic's partition 0.
	purgesFrom int32
	// parts names each position index's topic and partition on the
	// push.fanout spans (nil: not named).
	parts  []kafka.TopicPartition
	m      *metrics
	frames map[uint32]frame // per-record cache of shared frames by channel hash
	now    func() time.Time
	// unwoken are the sessions process queued frames for since the last
	// wake (each once).
	unwoken []*session
}

func newHub(epoch string, start []int64, purgesFrom int32, windowSize int, m *metrics) *hub {
	h := &hub{epoch: epoch, purgesFrom: purgesFrom, next: append([]int64(nil), start...), complete: append([]int64(nil), start...),
		window: make([]ring, len(start)), chans: map[string]map[*session]struct{}{},
		sessions: map[*session]struct{}{}, m: m, frames: map[uint32]frame{}, now: time.Now}
	for i := range h.window {
		h.window[i].buf = make([]*item, windowSize)
	}
	return h
}

// channelsOf returns the channels a transition is published on.
func channelsOf(tr record.Transition) []string {
	chs := make([]string, 0, 1+len(tr.Tags))
	if o := cachekey.Origin(tr.Key); o != "" {
		chs = append(chs, "origin:"+o)
	}
	for _, t := range tr.Tags {
		chs = append(chs, "tag:"+t)
	}
	return chs
}

// process applies one record at (part, off) and fans it out. traceparent
// is the record's traceparent header ("" when it has none).
func (h *hub) process(part int32, off int64, value []byte, traceparent string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if part < 0 || int(part) >= len(h.next) || off < h.next[part] {
		return // a partition we do not know, or a record already processed
	}
	h.next[part] = off + 1
	it, span, err := h.decodeTraced(part, off, value, traceparent)
	if err != nil {
		h.m.badRecords.Inc()
		return
	}
	defer span.End()
	if ev := h.window[part].push(it); ev != nil {
		h.complete[part] = ev.off + 1
	}
	h.seq++
	clear(h.frames)
	n := 0
	now := h.now()
	chans := it.channels
	if it.host != "" {
		for ch := range h.chans {
			if onOrigin(it.host, ch) {
				chans = append(chans, ch)
			}
		}
	}
	for _, ch := range chans {
		for s := range h.chans[ch] {
			if s.stamp == h.seq {
				continue
			}
			s.stamp = h.seq
			if h.deliverLocked(s, it, now) {
				n++
			}
		}
	}
	h.m.deliveries.Add(float64(n))
	if n > 0 && !it.ts.IsZero() {
		h.m.latency.Observe(max(now.Sub(it.ts), 0).Seconds())
	}
	span.SetAttributes(attribute.Int("cachet.push.deliveries", n))
}

// deliverLocked queues it for s (or holds it while s catches up).
func (h *hub) deliverLocked(s *session, it *item, now time.Time) bool {
	var f frame
	if s.floor != nil {
		if it.off < s.floor[it.part] {
			return false // the client already has it
		}
		f = h.customFrame(s, it)
	} else {
		var ok bool
		if f, ok = h.frames[s.chash]; !ok {
			pos := Position{Epoch: h.epoch, Channels: s.chash, Offsets: h.next}.String()
			f = it.frame(pos)
			h.frames[s.chash] = f
		}
	}
	if s.catching {
		if len(s.pending) >= 4*s.limit {
			s.close(closeErr(CodeSlowConsumer, "too far behind while resuming"))
			return false
		}
		s.pending = append(s.pending, f)
		return true
	}
	if !s.add(f, now) {
		return false
	}
	if !s.wakeDue {
		s.wakeDue = true
		h.unwoken = append(h.unwoken, s)
	}
	return true
}

// wake wakes the writers of the sessions process queued frames for since
// the last wake. The source calls it after each run of records it had
// already received, so that a writer finds all of them queued: one write,
// and one message for a client that takes batched frames, instead of one
// per record. Nothing waits for records that have not arrived.
func (h *hub) wake() {
	h.mu.Lock()
	unwoken := h.unwoken
	h.unwoken = nil
	for _, s := range unwoken {
		s.wakeDue = false
	}
	h.mu.Unlock()
	for _, s := range unwoken {
		s.notify()
	}
}

// customFrame encodes it for a session whose floor is ahead of the hub.
func (h *hub) customFrame(s *session, it *item) frame {
	pos := h.posLocked(s).String()
	ahead := false
	for i, f := range s.floor {
		if f > h.next[i] {
			ahead = true
		}
	}
	if !ahead {
		s.floor = nil
	}
	if it == nil {
		return frame{pos: pos}
	}
	return it.frame(pos)
}

// posLocked is the session's position: the hub's, raised to its floor.
func (h *hub) posLocked(s *session) Position {
	offs := append([]int64(nil), h.next...)
	for i, f := range s.floor {
		offs[i] = max(offs[i], f)
	}
	return Position{Epoch: h.epoch, Channels: s.chash, Offsets: offs}
}

// registerLocked adds s to the channel index.
func (h *hub) registerLocked(s *session) {
	h.sessions[s] = struct{}{}
	for _, ch := range s.channels {
		set := h.chans[ch]
		if set == nil {
			set = map[*session]struct{}{}
			h.chans[ch] = set
		}
		set[s] = struct{}{}
	}
}

// unregister removes s from the hub.
func (h *hub) unregister(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.sessions, s)
	for _, ch := range s.channels {
		if set := h.chans[ch]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				delete(h.chans, ch)
			}
		}
	}
}

// snapshot returns copies of next and complete.
func (h *hub) snapshot() (next, complete []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int64(nil), h.next...), append([]int64(nil), h.complete...)
}

// ping queues a ping carrying each live session's position, and closes
// sessions whose queue stayed full too long.
func (h *hub) ping() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	for s := range h.sessions {
		s.checkSlow(now)
		if s.catching {
			continue
		}
		pos := h.posLocked(s).String()
		s.enqueue(frame{t: TypePing, pos: pos, data: mustJSON(PosFrame{T: TypePing, Pos: pos})}, now)
	}
}

// sessionList returns every registered session.
func (h *hub) sessionList() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		out = append(out, s)
	}
	return out
}

// skipTo moves a partition's next offset forward to off after the records
// before it were deleted unread. The partition's replay window is emptied
// (a resume from before off must be reset, not replayed with a gap) and
// every session is told to reset (retention) at its new position.
func (h *hub) skipTo(part int32, off int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if int(part) >= len(h.next) || off <= h.next[part] {
		return
	}
	h.next[part], h.complete[part] = off, off
	w := &h.window[part]
	clear(w.buf)
	w.start, w.n = 0, 0
	clear(h.frames)
	now := h.now()
	for s := range h.sessions {
		pos := h.posLocked(s).String()
		f := frame{t: TypeReset, pos: pos, data: mustJSON(ResetFrame{T: TypeReset, Reason: ResetRetention, Pos: pos})}
		if s.catching {
			s.pending = append(s.pending, f)
		} else {
			s.enqueue(f, now)
		}
	}
}
