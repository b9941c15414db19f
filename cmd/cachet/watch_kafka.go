package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// runWatchKafka prints committed transition records, one line each like
// the ledger watch, dropping repeats and versions older than one printed.
func runWatchKafka(ctx context.Context, kf *kafkaFlags, fromBeginning, asJSON bool, w io.Writer) error {
	reset := "latest"
	if fromBeginning {
		reset = "earliest"
	}
	// A group of its own: every watch sees every record.
	group := fmt.Sprintf("cachet-watch-%d-%d", os.Getpid(), time.Now().UnixNano())
	cfg, err := kf.config("cachet-watch")
	if err != nil {
		return err
	}
	c, err := kafka.NewConsumer(cfg, group, reset)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Subscribe([]string{record.TopicTransitions}, nil); err != nil {
		return err
	}
	return printRecords(ctx, c, w, asJSON)
}

// poller is the part of a consumer printRecords needs.
type poller interface {
	Poll(timeout time.Duration) kafka.Event
}

func printRecords(ctx context.Context, c poller, w io.Writer, asJSON bool) error {
	newest := map[string]uint64{} // key → highest version printed
	enc := json.NewEncoder(w)
	for ctx.Err() == nil {
		var m *kafka.Message
		switch e := c.Poll(100 * time.Millisecond).(type) {
		case *kafka.Message:
			m = e
		case *kafka.Error:
			if e.Fatal {
				return e
			}
			slog.Debug("watch kafka", "err", e)
			continue
		default:
			continue
		}
		tr, err := record.DecodeTransition(m.Value)
		if err != nil {
			fmt.Fprintf(w, "# %v at %v[%d]@%d: %v\n", m.Topic, m.Topic, m.Partition, m.Offset, err)
			continue
		}
		if tr.Version <= newest[tr.Key] {
			continue // a repeat, or older than what was printed
		}
		newest[tr.Key] = tr.Version
		if asJSON {
			err = enc.Encode(tr)
		} else {
			_, err = fmt.Fprintf(w, "%-8s %-11s %s  v%d  owner %s  by %s  %s\n", tr.Position, tr.State, tr.Key, tr.Version, tr.Owner, tr.Actor, tr.Reason)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
