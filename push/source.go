package push

import (
	"context"
	"errors"
	"fmt"
	"time"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// source is the consumer every push instance runs on the transitions topic:
// all partitions assigned (no group balancing), read_committed.
type source struct {
	c     *ckafka.Consumer
	topic string
	parts int
}

// openSource describes the topic, derives the epoch and starts reading each
// partition window records before its end, so the replay window is warm.
func openSource(ctx context.Context, cfg kafka.Config, topic string, window int) (*source, string, []int64, error) {
	info, err := kafka.DescribeTopic(ctx, cfg, topic)
	if err != nil {
		return nil, "", nil, err
	}
	// An offset gone past retention must surface as an error, never as a
	// silent jump to the earliest record (see skipDeleted).
	cfg.Extra = withOffsetResetError(cfg.Extra)
	c, err := kafka.NewConsumer(cfg, "cachet-push", "")
	if err != nil {
		return nil, "", nil, err
	}
	s := &source{c: c, topic: topic, parts: info.Partitions}
	start := make([]int64, info.Partitions)
	tps := make([]ckafka.TopicPartition, info.Partitions)
	for p := range start {
		low, high, err := s.watermarks(ctx, int32(p))
		if err != nil {
			c.Close()
			return nil, "", nil, err
		}
		start[p] = max(low, high-int64(window))
		tps[p] = ckafka.TopicPartition{Topic: &s.topic, Partition: int32(p), Offset: ckafka.Offset(start[p])}
	}
	if err := c.Assign(tps); err != nil {
		c.Close()
		return nil, "", nil, fmt.Errorf("push: assign %s: %w", topic, err)
	}
	return s, Epoch(info.ID, info.Partitions), start, nil
}

// watermarks asks the broker for a partition's low and high watermarks.
func (s *source) watermarks(ctx context.Context, part int32) (low, high int64, err error) {
	ms := 10_000
	if d, ok := ctx.Deadline(); ok {
		ms = max(1, int(time.Until(d)/time.Millisecond))
	}
	low, high, err = s.c.QueryWatermarkOffsets(s.topic, part, ms)
	if err != nil {
		return 0, 0, fmt.Errorf("push: watermarks of %s/%d: %w", s.topic, part, err)
	}
	return low, high, nil
}

// maxRun bounds the records fanned out before the writers are woken.
const maxRun = 64

// run polls until ctx is done, handing each record to h. The records
// already received when one arrives (up to maxRun) are fanned out before
// the writers are woken (hub.wake).
func (s *source) run(ctx context.Context, h *hub, m *metrics, onErr func(error)) {
	lastLag := time.Now()
	var next ckafka.Event // an event polled while looking for more records
	for ctx.Err() == nil {
		ev := next
		if next = nil; ev == nil {
			ev = s.c.Poll(100)
		}
		switch ev := ev.(type) {
		case *ckafka.Message:
			s.record(h, m, ev, onErr)
			for range maxRun - 1 {
				e := s.c.Poll(0)
				more, ok := e.(*ckafka.Message)
				if !ok {
					next = e // nil when nothing more has arrived
					break
				}
				s.record(h, m, more, onErr)
			}
			h.wake()
		case ckafka.Error:
			if ev.Code() == ckafka.ErrAutoOffsetReset || ev.Code() == ckafka.ErrOffsetOutOfRange {
				s.skipDeleted(ctx, h, m, onErr)
				continue
			}
			onErr(ev)
		}
		if time.Since(lastLag) > time.Second {
			lastLag = time.Now()
			next, _ := h.snapshot()
			var lag int64
			for p, n := range next {
				if _, high, err := s.c.GetWatermarkOffsets(s.topic, int32(p)); err == nil && high > n {
					lag += high - n
				}
			}
			m.lag.Set(float64(lag))
		}
	}
}

// record hands one polled record to h.
func (s *source) record(h *hub, m *metrics, ev *ckafka.Message, onErr func(error)) {
	if ev.TopicPartition.Error != nil {
		onErr(ev.TopicPartition.Error)
		return
	}
	m.consumed.Inc()
	h.process(ev.TopicPartition.Partition, int64(ev.TopicPartition.Offset), ev.Value, headerValue(ev.Headers, record.HeaderTraceparent))
}

// ErrCatchUp is wrapped by catch-up failures (the records are gone or
// Kafka is unreachable); the client reconnects and is resumed or reset.
var ErrCatchUp = errors.New("catch-up from Kafka failed")

// catchUp reads each partition p from from[p] up to to[p] (exclusive) with
// a dedicated consumer and calls fn for every record, in offset order per
// partition.
func catchUp(ctx context.Context, cfg kafka.Config, topic string, from, to []int64, fn func(part int32, off int64, value []byte)) error {
	// Records gone past retention must fail the catch-up, never be skipped.
	cfg.Extra = withOffsetResetError(cfg.Extra)
	cfg.Extra["enable.partition.eof"] = true
	c, err := kafka.NewConsumer(cfg, "cachet-push-catchup", "")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCatchUp, err)
	}
	defer c.Close()
	var tps []ckafka.TopicPartition
	left := map[int32]bool{}
	for p := range from {
		if from[p] < to[p] {
			tps = append(tps, ckafka.TopicPartition{Topic: &topic, Partition: int32(p), Offset: ckafka.Offset(from[p])})
			left[int32(p)] = true
		}
	}
	if len(tps) == 0 {
		return nil
	}
	if err := c.Assign(tps); err != nil {
		return fmt.Errorf("%w: assign: %w", ErrCatchUp, err)
	}
	for len(left) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: %w", ErrCatchUp, err)
		}
		switch ev := c.Poll(100).(type) {
		case *ckafka.Message:
			p, off := ev.TopicPartition.Partition, int64(ev.TopicPartition.Offset)
			if !left[p] || off >= to[p] {
				delete(left, p)
				continue
			}
			fn(p, off, ev.Value)
			if off+1 >= to[p] {
				delete(left, p)
			}
		case ckafka.PartitionEOF:
			if int64(ev.Offset) >= to[ev.Partition] {
				delete(left, ev.Partition)
			}
		case ckafka.Error:
			if ev.Code() == ckafka.ErrAutoOffsetReset || ev.IsFatal() {
				return fmt.Errorf("%w: %w", ErrCatchUp, ev)
			}
		}
	}
	return nil
}

// withOffsetResetError copies extra with auto.offset.reset=error: a
// consumer whose next offset no longer exists reports it instead of
// jumping elsewhere.
func withOffsetResetError(extra ckafka.ConfigMap) ckafka.ConfigMap {
	out := ckafka.ConfigMap{}
	for k, v := range extra {
		out[k] = v
	}
	out["auto.offset.reset"] = "error"
	return out
}

func headerValue(hs []ckafka.Header, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// skipDeleted handles the consumer finding its next offset gone: retention
// (or DeleteRecords) removed records before this server read them. Nothing
// is skipped silently: a partition whose first kept offset passed the
// hub's next offset jumps to it, and every subscriber gets a reset
// (retention), since any of them may have had a transition among the lost.
// librdkafka stops a partition that hit the error (Seek is refused), so the
// whole assignment restarts where the hub stands; records it already
// processed are ignored.
func (s *source) skipDeleted(ctx context.Context, h *hub, m *metrics, onErr func(error)) {
	next, _ := h.snapshot()
	for p := range next {
		low, _, err := s.watermarks(ctx, int32(p))
		if err != nil {
			onErr(err)
			continue
		}
		if low > next[p] {
			h.skipTo(int32(p), low)
			m.retentionSkips.Inc()
			onErr(fmt.Errorf("push: %s/%d: offsets %d to %d were deleted before they were read; subscribers reset", s.topic, p, next[p], low-1))
		}
	}
	next, _ = h.snapshot()
	tps := make([]ckafka.TopicPartition, len(next))
	for p, off := range next {
		tps[p] = ckafka.TopicPartition{Topic: &s.topic, Partition: int32(p), Offset: ckafka.Offset(off)}
	}
	if err := s.c.Assign(tps); err != nil {
		onErr(fmt.Errorf("push: reassign %s at %v: %w", s.topic, next, err))
	}
}
