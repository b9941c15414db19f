package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/cachekey"
	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

func newProduceCmd() *cobra.Command {
	var (
		kf    kafkaFlags
		topic string
	)
	cmd := &cobra.Command{
		Use:     "produce [flags] < transitions.jsonl",
		Short:   "Write transition records (JSON lines on stdin) to cachet.transitions, as the relay would",
		Example: `  echo '{"key":"https://shop.example/items/1","version":2,"state":"INVALIDATED","owner":"Org1MSP"}' | cachet produce --brokers 127.0.0.1:9092`,
		Args:    cobra.NoArgs,
	}
	kf.register(cmd.Flags(), "")
	cmd.Flags().StringVar(&topic, "topic", record.TopicTransitions, "topic to write to")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return runProduce(cmd.Context(), &kf, topic, cmd.InOrStdin(), cmd.OutOrStdout())
	}
	return cmd
}

// produceError reports a stdin line that is not a valid transition.
type produceError struct {
	Line int
	Err  error
}

func (e *produceError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *produceError) Unwrap() error { return e.Err }

// runProduce reads one record.Transition per line, validates it, produces it
// keyed by its cache key with the relay's headers, waits for the broker's
// acknowledgement and prints "ok <partition> <offset>" per line. Scripts and
// browser tests use it to inject invalidations without a ledger.
func runProduce(ctx context.Context, kf *kafkaFlags, topic string, stdin io.Reader, stdout io.Writer) error {
	cfg, err := kf.config("cachet-produce")
	if err != nil {
		return err
	}
	p, err := kafka.NewProducer(cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 0, 64<<10), record.MaxRecordBytes)
	pinged := false
	for line := 1; in.Scan(); line++ {
		if len(in.Bytes()) == 0 {
			continue
		}
		t, err := record.DecodeTransition(withVersion(in.Bytes()))
		if err == nil {
			_, err = cachekey.Canonical(t.Key)
		}
		if err != nil {
			return &produceError{Line: line, Err: err}
		}
		if !pinged { // once there is something to send: refused credentials fail at once
			if err := pingKafka(ctx, cfg); err != nil {
				return err
			}
			pinged = true
		}
		m, err := produceOne(ctx, p, topic, t)
		if err != nil {
			return &produceError{Line: line, Err: err}
		}
		fmt.Fprintf(stdout, "ok %d %d\n", m.Partition, m.Offset)
	}
	return in.Err()
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

func produceOne(ctx context.Context, p *kafka.Producer, topic string, t record.Transition) (*kafka.Message, error) {
	value, err := t.Marshal()
	if err != nil {
		return nil, err
	}
	headers := []kafka.Header{
		{Key: record.HeaderBlock, Value: []byte(strconv.FormatUint(t.Block, 10))},
		{Key: record.HeaderTxIndex, Value: []byte(strconv.FormatUint(uint64(t.TxIndex), 10))},
		{Key: record.HeaderOwner, Value: []byte(t.Owner)},
	}
	if t.Traceparent != "" {
		headers = append(headers, kafka.Header{Key: record.HeaderTraceparent, Value: []byte(t.Traceparent)})
	}
	done := make(chan kafka.Delivery, 1)
	msg := &kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(t.Key), Value: value, Headers: headers}
	if err := p.Produce(msg, done); err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case d := <-done:
		if d.Err != nil {
			return nil, errors.Join(errors.New("delivery failed"), d.Err)
		}
		return d.Message, nil
	}
}
