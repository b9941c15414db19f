package relay

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// positionMessage is the record.RelayPosition of channel at pos.
func positionMessage(channel string, pos record.Position) (*kafka.Message, error) {
	v, err := record.RelayPosition{Channel: channel, Position: pos}.Marshal()
	if err != nil {
		return nil, err
	}
	return &kafka.Message{Topic: record.TopicPositions, Partition: 0, Key: []byte(channel), Value: v}, nil
}

// ReadPosition returns the channel's last committed position on
// cachet.positions (read_committed), reading the partition to its end; ok
// is false when the channel has none yet. A relay calls it after
// InitTransactions, which settles any transaction a previous leader left
// open, so what it reads is final. The end is the high watermark seen at
// the start: a read_committed consumer stops early at a transaction still
// open (another channel's relay), and a position committed after it would
// be missed, so ReadPosition waits for that transaction to end.
func ReadPosition(ctx context.Context, cfg kafka.Config, channel string) (pos record.Position, ok bool, err error) {
	extra := kafka.ConfigMap{"enable.partition.eof": true, "fetch.wait.max.ms": 10, "fetch.error.backoff.ms": 10}
	maps.Copy(extra, cfg.Extra)
	cfg.Extra = extra
	c, err := kafka.NewConsumer(cfg, "", "earliest")
	if err != nil {
		return pos, false, err
	}
	defer c.Close()
	topic := record.TopicPositions
	high, err := highWatermark(cfg, topic)
	if err != nil {
		return pos, false, err
	}
	if err := c.Assign([]kafka.TopicPartition{{Topic: topic, Partition: 0, Offset: kafka.OffsetBeginning}}); err != nil {
		return pos, false, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return pos, false, fmt.Errorf("read %s: %w", topic, err)
		}
		switch e := c.Poll(100 * time.Millisecond).(type) {
		case *kafka.Message:
			if string(e.Key) != channel {
				continue
			}
			p, err := record.DecodeRelayPosition(e.Value)
			if err != nil {
				return pos, false, fmt.Errorf("%s at offset %v: %w", topic, e.Offset, err)
			}
			pos, ok = p.Position, true
		case kafka.PartitionEOF:
			if e.Offset >= high {
				return pos, ok, nil
			}
			// Stopped short at an open transaction: its end re-reports EOF.
		case *kafka.Error:
			if e.Fatal || e.Code == kafka.CodeUnknownTopicOrPart {
				return pos, false, e
			}
		}
	}
}

// opTimeout bounds one Kafka transaction step (init, commit, abort, read
// position) when Config.OpTimeout is zero.
const opTimeout = 10 * time.Second

// highWatermark is the partition's end including open transactions: a
// read_committed client would be told the last stable offset instead.
func highWatermark(cfg kafka.Config, topic string) (int64, error) {
	extra := kafka.ConfigMap{}
	maps.Copy(extra, cfg.Extra)
	extra["isolation.level"] = "read_uncommitted"
	cfg.Extra = extra
	c, err := kafka.NewConsumer(cfg, "", "earliest")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_, high, err := c.QueryWatermarkOffsets(topic, 0, opTimeout)
	return high, err
}
