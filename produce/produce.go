// Package produce writes Cachet records given as JSON lines to Kafka, as
// the daemons that own them would: transitions as the relay writes them
// (keyed by cache key, with the relay's headers), scope purges as the relay
// writes them (keyed by scope), and advice as analytics writes it. Scripts
// and browser tests use it to drive push and the SDK without a ledger.
package produce

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// Kind is the record type a topic carries.
type Kind string

// Record kinds.
const (
	KindTransition Kind = "transition"
	KindPurge      Kind = "purge"
	KindAdvice     Kind = "advice"
)

// KindOf returns the record type of one of Cachet's topics; any other topic
// carries transitions (a renamed transitions topic).
func KindOf(topic string) Kind {
	switch topic {
	case record.TopicPurges:
		return KindPurge
	case record.TopicAdvice:
		return KindAdvice
	}
	return KindTransition
}

// LineError reports an input line that is not a valid record, or that the
// broker did not acknowledge.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ErrNotDelivered wraps a delivery report's error.
var ErrNotDelivered = errors.New("delivery failed")

// Message decodes one JSON line into the record the topic carries and
// returns the Kafka message the owning daemon would write for it. A line
// without "v" gets the current schema version. Keys and scopes are checked
// as the ledger checks them.
func Message(topic string, line []byte) (*kafka.Message, error) {
	line = withVersion(line)
	switch KindOf(topic) {
	case KindPurge:
		g, err := record.DecodeGeneration(line)
		if err != nil {
			return nil, err
		}
		v, err := g.Marshal()
		if err != nil {
			return nil, err
		}
		return &kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(g.Scope.String()), Value: v,
			Headers: headers(g.Position, g.Owner, g.Traceparent)}, nil
	case KindAdvice:
		a, err := record.DecodeAdvice(line)
		if err != nil {
			return nil, err
		}
		v, err := a.Marshal()
		if err != nil {
			return nil, err
		}
		return &kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(a.Key), Value: v}, nil
	}
	t, err := record.DecodeTransition(line)
	if err != nil {
		return nil, err
	}
	if _, err := cachekey.Canonical(t.Key); err != nil {
		return nil, err
	}
	v, err := t.Marshal()
	if err != nil {
		return nil, err
	}
	return &kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(t.Key), Value: v,
		Headers: headers(t.Position, t.Owner, t.Traceparent)}, nil
}

func headers(p record.Position, owner, traceparent string) []kafka.Header {
	h := []kafka.Header{
		{Key: record.HeaderBlock, Value: []byte(strconv.FormatUint(p.Block, 10))},
		{Key: record.HeaderTxIndex, Value: []byte(strconv.FormatUint(uint64(p.TxIndex), 10))},
		{Key: record.HeaderOwner, Value: []byte(owner)},
	}
	if traceparent != "" {
		h = append(h, kafka.Header{Key: record.HeaderTraceparent, Value: []byte(traceparent)})
	}
	return h
}

// withVersion adds the current schema version to a line that has none, so
// hand-written lines need not carry "v".
func withVersion(b []byte) []byte {
	var probe struct {
		V *int `json:"v"`
	}
	b = bytes.TrimSpace(b)
	if json.Unmarshal(b, &probe) != nil || probe.V != nil || len(b) < 2 || b[0] != '{' {
		return b
	}
	sep := ","
	if rest := bytes.TrimSpace(b[1:]); len(rest) > 0 && rest[0] == '}' {
		sep = ""
	}
	return append([]byte(`{"v":`+strconv.Itoa(record.Version)+sep), b[1:]...)
}

// Send produces m and waits for the broker's acknowledgement.
func Send(ctx context.Context, p *kafka.Producer, m *kafka.Message) (*kafka.Message, error) {
	done := make(chan kafka.Delivery, 1)
	if err := p.Produce(m, done); err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case d := <-done:
		if d.Err != nil {
			return nil, errors.Join(ErrNotDelivered, d.Err)
		}
		return d.Message, nil
	}
}

// Lines reads JSON lines from r (blank lines skipped) and sends each as a
// record of topic, in order, one acknowledged before the next is sent. It
// calls ack with each acknowledged message; before the first send it calls
// ready (when not nil), so a caller can check the broker once there is
// something to send. Errors are *LineError.
func Lines(ctx context.Context, p *kafka.Producer, topic string, r io.Reader, ready func() error, ack func(*kafka.Message)) error {
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 0, 64<<10), record.MaxRecordBytes)
	for line := 1; in.Scan(); line++ {
		if len(bytes.TrimSpace(in.Bytes())) == 0 {
			continue
		}
		m, err := Message(topic, in.Bytes())
		if err != nil {
			return &LineError{Line: line, Err: err}
		}
		if ready != nil {
			if err := ready(); err != nil {
				return err
			}
			ready = nil
		}
		got, err := Send(ctx, p, m)
		if err != nil {
			return &LineError{Line: line, Err: err}
		}
		ack(got)
	}
	return in.Err()
}
