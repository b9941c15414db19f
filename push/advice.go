package push

import (
	"context"
	"fmt"
	"time"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// adviceFrame is the advice frame's JSON: record.Advice's fields (without
// the record version) plus t. It carries no position: advice is a hint,
// never replayed and never part of the resumable stream.
type adviceFrame struct {
	T                  string        `json:"t"`
	Key                string        `json:"key"`
	At                 time.Time     `json:"at"`
	WriteRate          float64       `json:"writeRate"`
	ReadRate           float64       `json:"readRate"`
	PStale             float64       `json:"pStale"`
	ExpectedStaleReads float64       `json:"expectedStaleReads"`
	ConflictRisk       float64       `json:"conflictRisk"`
	RecommendedMaxAge  uint32        `json:"recommendedMaxAge"`
	Action             record.Action `json:"action"`
	Engine             string        `json:"engine"`
}

func encodeAdvice(a record.Advice) []byte {
	return mustJSON(adviceFrame{T: TypeAdvice, Key: a.Key, At: a.At, WriteRate: a.WriteRate, ReadRate: a.ReadRate,
		PStale: a.PStale, ExpectedStaleReads: a.ExpectedStaleReads, ConflictRisk: a.ConflictRisk,
		RecommendedMaxAge: a.RecommendedMaxAge, Action: a.Action, Engine: a.Engine})
}

// adviceSource reads the advice topic from its newest offsets, all
// partitions assigned, with no position bookkeeping: a restarted server
// starts again at the end.
type adviceSource struct {
	c     *kafka.Consumer
	topic string
}

// openAdvice assigns every partition of topic at its current high
// watermark, so every record produced after it returns is delivered.
func openAdvice(ctx context.Context, cfg kafka.Config, topic string) (*adviceSource, error) {
	info, err := kafka.DescribeTopic(ctx, cfg, topic)
	if err != nil {
		return nil, err
	}
	c, err := kafka.NewConsumer(cfg, "cachet-push-advice", "latest")
	if err != nil {
		return nil, err
	}
	a := &adviceSource{c: c, topic: topic}
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Millisecond, time.Until(d))
	}
	tps := make([]kafka.TopicPartition, info.Partitions)
	for p := range tps {
		_, high, err := c.QueryWatermarkOffsets(topic, int32(p), timeout)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("push: watermarks of %s/%d: %w", topic, p, err)
		}
		tps[p] = kafka.TopicPartition{Topic: a.topic, Partition: int32(p), Offset: high}
	}
	if err := c.Assign(tps); err != nil {
		c.Close()
		return nil, fmt.Errorf("push: assign %s: %w", topic, err)
	}
	return a, nil
}

// run polls until ctx is done and fans each advice record out.
func (a *adviceSource) run(ctx context.Context, h *hub, m *metrics, onErr func(error)) {
	for ctx.Err() == nil {
		switch ev := a.c.Poll(100 * time.Millisecond).(type) {
		case *kafka.Message:
			adv, err := record.DecodeAdvice(ev.Value)
			if err != nil {
				m.adviceBad.Inc()
				continue
			}
			m.adviceDelivered.Add(float64(h.advise(adv.Key, encodeAdvice(adv))))
		case *kafka.Error:
			onErr(ev)
		}
	}
}

// advise queues an advice frame to every session on the key's origin
// channel and returns how many got it. Sessions catching up get it at once:
// advice is not ordered with transitions.
func (h *hub) advise(key string, data []byte) int {
	o := cachekey.Origin(key)
	if o == "" {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	n := 0
	for s := range h.chans["origin:"+o] {
		if s.enqueue(frame{t: TypeAdvice, data: data}, now) {
			n++
		}
	}
	return n
}
