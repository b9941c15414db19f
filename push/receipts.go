package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// Reasons a read is dropped (label of cachet_push_reads_dropped_total).
const (
	DropMalformed   = "malformed"   // not a JSON object of record.Read's shape
	DropVersion     = "version"     // "v" is not the record version this server writes
	DropInvalid     = "invalid"     // breaks record.Read's rules (kind, empty key, no time)
	DropKey         = "key"         // the key is not in canonical form
	DropForbidden   = "forbidden"   // the key's origin channel is not granted to the sender
	DropUnavailable = "unavailable" // Kafka did not acknowledge it; the client sends it again
)

// ErrReadsUnavailable is wrapped when Kafka did not acknowledge every valid
// read of a receipts frame: the server does not acknowledge the frame, so
// the client keeps its reads and sends them again.
var ErrReadsUnavailable = errors.New("reads not acknowledged by Kafka")

// ReceiptedFrame answers one receipts frame: N reads stored, Dropped refused.
type ReceiptedFrame struct {
	T       string `json:"t"`
	N       int    `json:"n"`
	Dropped int    `json:"dropped"`
}

// checkRead decodes and validates one read; the reason is "" when it may
// be produced. allowed says whether a channel is granted to the sender.
func checkRead(raw []byte, allowed func(channel string) bool) (record.Read, string) {
	r, err := record.DecodeRead(raw)
	var uv *record.UnsupportedVersionError
	var ie *record.InvalidError
	switch {
	case errors.As(err, &uv):
		return r, DropVersion
	case errors.As(err, &ie) && ie.Err != nil:
		return r, DropMalformed
	case err != nil:
		return r, DropInvalid
	}
	if k, err := cachekey.Canonical(r.Key); err != nil || k != r.Key {
		return r, DropKey
	}
	if o := cachekey.Origin(r.Key); o == "" || !allowed("origin:"+o) {
		return r, DropForbidden
	}
	return r, ""
}

// acceptReads validates the reads of a receipts frame (a JSON array, shape
// already checked by ParseClientFrame), produces the valid ones to
// cachet.reads keyed by cache key and waits until Kafka acknowledged them.
// It returns how many were accepted and dropped; an error wrapping
// ErrReadsUnavailable means the frame must not be acknowledged.
func (s *Server) acceptReads(ctx context.Context, reads json.RawMessage, allowed func(string) bool) (accepted, dropped int, err error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(reads, &raws); err != nil {
		return 0, 0, &FrameError{Reason: "reads is not an array", Err: err}
	}
	s.prodMu.RLock()
	defer s.prodMu.RUnlock()
	done := make(chan kafka.Delivery, len(raws))
	sent := 0
	topic := s.cfg.ReadsTopic
	for _, raw := range raws {
		r, reason := checkRead(raw, allowed)
		if reason == "" {
			v, merr := r.Marshal()
			if merr == nil && s.prodEnd {
				merr = errors.New("server closing")
			}
			if merr == nil {
				merr = s.prod.Produce(&kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(r.Key), Value: v}, done)
			}
			if merr == nil {
				sent++
				continue
			}
			reason = DropUnavailable
			err = merr
		}
		dropped++
		s.m.readsDropped.WithLabelValues(reason).Inc()
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReceiptTimeout)
	defer cancel()
	for i := 0; i < sent; i++ {
		select {
		case d := <-done:
			if d.Err == nil {
				accepted++
				s.m.readsAccepted.Inc()
				continue
			}
			err = d.Err
		case <-ctx.Done():
			err = ctx.Err()
			// The reports still to come land in done's buffer; nobody reads them.
			n := sent - i
			dropped += n
			s.m.readsDropped.WithLabelValues(DropUnavailable).Add(float64(n))
			return accepted, dropped, fmt.Errorf("%w: %w", ErrReadsUnavailable, err)
		}
		dropped++
		s.m.readsDropped.WithLabelValues(DropUnavailable).Inc()
	}
	if err != nil {
		return accepted, dropped, fmt.Errorf("%w: %w", ErrReadsUnavailable, err)
	}
	return accepted, dropped, nil
}

// receipted encodes the answer to a receipts frame.
func receipted(accepted, dropped int) frame {
	return frame{t: TypeReceipted, data: mustJSON(ReceiptedFrame{T: TypeReceipted, N: accepted, Dropped: dropped})}
}

// newReadsProducer is the idempotent producer of cachet.reads. A read it
// could not deliver within timeout is given up (the client, never
// acknowledged, sends it again) rather than kept for librdkafka's default
// five minutes.
func newReadsProducer(cfg kafka.Config, timeout time.Duration, opts ...kafka.ProducerOption) (*kafka.Producer, error) {
	extra := kafka.ConfigMap{"message.timeout.ms": int(timeout / time.Millisecond)}
	for k, v := range cfg.Extra {
		extra[k] = v
	}
	cfg.Extra = extra
	return kafka.NewProducer(cfg, opts...)
}
