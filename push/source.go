package push

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// source is the consumer every push instance runs on the transitions and
// purges topics: all partitions assigned (no group balancing),
// read_committed. Positions number the partitions of both topics in one
// vector: the transitions topic's first, then the purges topic's.
type source struct {
	c     *kafka.Consumer
	parts []kafka.TopicPartition // by position index: topic and partition
	first map[string]int         // position index of each topic's partition 0
}

// openSource describes the topics, derives the epoch and starts reading
// each partition window records before its end, so the replay window is
// warm. An empty topic name is not read.
func openSource(ctx context.Context, cfg kafka.Config, topics []string, window int) (*source, string, []int64, error) {
	s := &source{first: map[string]int{}}
	var ids []string
	for _, topic := range topics {
		if topic == "" {
			continue
		}
		info, err := kafka.DescribeTopic(ctx, cfg, topic)
		if err != nil {
			return nil, "", nil, err
		}
		s.first[topic] = len(s.parts)
		ids = append(ids, info.ID)
		for p := range info.Partitions {
			s.parts = append(s.parts, kafka.TopicPartition{Topic: topic, Partition: int32(p)})
		}
	}
	// An offset gone past retention must surface as an error, never as a
	// silent jump to the earliest record (see skipDeleted).
	cfg.Extra = withOffsetResetError(cfg.Extra)
	c, err := kafka.NewConsumer(cfg, "cachet-push", "")
	if err != nil {
		return nil, "", nil, err
	}
	s.c = c
	start := make([]int64, len(s.parts))
	tps := make([]kafka.TopicPartition, len(s.parts))
	for p := range start {
		low, high, err := s.watermarks(ctx, p)
		if err != nil {
			c.Close()
			return nil, "", nil, err
		}
		start[p] = max(low, high-int64(window))
		tps[p] = s.at(p, start[p])
	}
	if err := c.Assign(tps); err != nil {
		c.Close()
		return nil, "", nil, fmt.Errorf("push: assign %v: %w", topics, err)
	}
	return s, Epoch(strings.Join(ids, "+"), len(s.parts)), start, nil
}

// purgesFrom is the position index of the purges topic's first partition:
// the number of partitions of the transitions topic.
func (s *source) purgesFrom() int32 {
	for i, tp := range s.parts {
		if tp.Topic != s.parts[0].Topic {
			return int32(i)
		}
	}
	return int32(len(s.parts))
}

// at is position index p's partition at offset off.
func (s *source) at(p int, off int64) kafka.TopicPartition {
	return kafka.TopicPartition{Topic: s.parts[p].Topic, Partition: s.parts[p].Partition, Offset: off}
}

// index is the position index of a record's partition; -1 if unknown.
func (s *source) index(topic string, part int32) int32 {
	first, ok := s.first[topic]
	if !ok {
		return -1
	}
	return int32(first) + part
}

// watermarks asks the broker for the low and high watermarks of position
// index p's partition.
func (s *source) watermarks(ctx context.Context, p int) (low, high int64, err error) {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Millisecond, time.Until(d))
	}
	tp := s.parts[p]
	low, high, err = s.c.QueryWatermarkOffsets(tp.Topic, tp.Partition, timeout)
	if err != nil {
		return 0, 0, fmt.Errorf("push: watermarks of %s/%d: %w", tp.Topic, tp.Partition, err)
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
	var next kafka.Event // an event polled while looking for more records
	for ctx.Err() == nil {
		ev := next
		if next = nil; ev == nil {
			ev = s.c.Poll(100 * time.Millisecond)
		}
		switch ev := ev.(type) {
		case *kafka.Message:
			s.record(h, m, ev)
			for range maxRun - 1 {
				e := s.c.Poll(0)
				more, ok := e.(*kafka.Message)
				if !ok {
					next = e // nil when nothing more has arrived
					break
				}
				s.record(h, m, more)
			}
			h.wake()
		case *kafka.Error:
			if ev.Code == kafka.CodeAutoOffsetReset || ev.Code == kafka.CodeOffsetOutOfRange {
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
				if _, high, err := s.c.GetWatermarkOffsets(s.parts[p].Topic, s.parts[p].Partition); err == nil && high > n {
					lag += high - n
				}
			}
			m.lag.Set(float64(lag))
		}
	}
}

// record hands one polled record to h.
func (s *source) record(h *hub, m *metrics, ev *kafka.Message) {
	m.consumed.Inc()
	h.process(s.index(ev.Topic, ev.Partition), ev.Offset, ev.Value, string(ev.Header(record.HeaderTraceparent)))
}

// ErrCatchUp is wrapped by catch-up failures (the records are gone or
// Kafka is unreachable); the client reconnects and is resumed or reset.
var ErrCatchUp = errors.New("catch-up from Kafka failed")

// catchUp reads each partition of position index p from from[p] up to
// to[p] (exclusive) with a dedicated consumer and calls fn for every
// record, in offset order per partition.
func (s *source) catchUp(ctx context.Context, cfg kafka.Config, from, to []int64, fn func(part int32, off int64, value []byte)) error {
	// Records gone past retention must fail the catch-up, never be skipped.
	cfg.Extra = withOffsetResetError(cfg.Extra)
	cfg.Extra["enable.partition.eof"] = true
	c, err := kafka.NewConsumer(cfg, "cachet-push-catchup", "")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCatchUp, err)
	}
	defer c.Close()
	var tps []kafka.TopicPartition
	left := map[int32]bool{}
	for p := range from {
		if from[p] < to[p] {
			tps = append(tps, s.at(p, from[p]))
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
		switch ev := c.Poll(100 * time.Millisecond).(type) {
		case *kafka.Message:
			p, off := s.index(ev.Topic, ev.Partition), ev.Offset
			if !left[p] || off >= to[p] {
				delete(left, p)
				continue
			}
			fn(p, off, ev.Value)
			if off+1 >= to[p] {
				delete(left, p)
			}
		case kafka.PartitionEOF:
			if p := s.index(ev.Topic, ev.Partition); p >= 0 && ev.Offset >= to[p] {
				delete(left, p)
			}
		case *kafka.Error:
			if ev.Code == kafka.CodeAutoOffsetReset || ev.Fatal {
				return fmt.Errorf("%w: %w", ErrCatchUp, ev)
			}
		}
	}
	return nil
}

// withOffsetResetError copies extra with auto.offset.reset=error: a
// consumer whose next offset no longer exists reports it instead of
// jumping elsewhere.
func withOffsetResetError(extra kafka.ConfigMap) kafka.ConfigMap {
	out := kafka.ConfigMap{}
	for k, v := range extra {
		out[k] = v
	}
	out["auto.offset.reset"] = "error"
	return out
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
		low, _, err := s.watermarks(ctx, p)
		if err != nil {
			onErr(err)
			continue
		}
		if low > next[p] {
			h.skipTo(int32(p), low)
			m.retentionSkips.Inc()
			onErr(fmt.Errorf("push: %s/%d: offsets %d to %d were deleted before they were read; subscribers reset", s.parts[p].Topic, s.parts[p].Partition, next[p], low-1))
		}
	}
	next, _ = h.snapshot()
	tps := make([]kafka.TopicPartition, len(next))
	for p, off := range next {
		tps[p] = s.at(p, off)
	}
	if err := s.c.Assign(tps); err != nil {
		onErr(fmt.Errorf("push: reassign at %v: %w", next, err))
	}
}
