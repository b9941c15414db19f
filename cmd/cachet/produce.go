package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/produce"
	"github.com/cachetsync/cachet/record"
)

func newProduceCmd() *cobra.Command {
	var (
		kf    kafkaFlags
		topic string
	)
	cmd := &cobra.Command{
		Use:   "produce [flags] < records.jsonl",
		Short: "Write records (JSON lines on stdin) to Kafka as the relay or analytics would: transitions, purges or advice by --topic",
		Example: `  echo '{"key":"https://shop.example/items/1","version":2,"state":"INVALIDATED","owner":"Org1MSP"}' | cachet produce --brokers 127.0.0.1:9092
  echo '{"scope":"tag","value":"catalog","owner":"Org1MSP","generation":1,"txId":"t1"}' | cachet produce --topic cachet.purges`,
		Args: cobra.NoArgs,
	}
	kf.register(cmd.Flags(), "")
	cmd.Flags().StringVar(&topic, "topic", record.TopicTransitions, "topic to write to: "+record.TopicPurges+" takes purge records, "+record.TopicAdvice+" advice, any other transitions")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return runProduce(cmd.Context(), &kf, topic, cmd.InOrStdin(), cmd.OutOrStdout())
	}
	return cmd
}

// runProduce writes each line as a record of topic, waits for the broker's
// acknowledgement and prints "ok <partition> <offset>" per line. A bad line
// stops it with its line number before anything is sent for it.
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
	// Once there is something to send, refused credentials fail at once.
	ready := func() error { return pingKafka(ctx, cfg) }
	return produce.Lines(ctx, p, topic, stdin, ready, func(m *kafka.Message) {
		fmt.Fprintf(stdout, "ok %d %d\n", m.Partition, m.Offset)
	})
}
