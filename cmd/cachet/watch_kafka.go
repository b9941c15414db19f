package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// runWatchKafka prints committed transition, scope purge and conflict
// records, one line each like the ledger watch, dropping repeats and
// versions older than one printed.
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
	if err := c.Subscribe([]string{record.TopicTransitions, record.TopicPurges, record.TopicConflicts}, nil); err != nil {
		return err
	}
	return printRecords(ctx, c, w, asJSON)
}

// poller is the part of a consumer printRecords needs.
type poller interface {
	Poll(timeout time.Duration) kafka.Event
}

func printRecords(ctx context.Context, c poller, w io.Writer, asJSON bool) error {
	newest := map[string]uint64{}      // key → highest version printed
	generations := map[string]uint64{} // owner and scope → highest generation printed
	conflicts := map[string]bool{}     // transaction IDs printed
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
		switch m.Topic {
		case record.TopicPurges:
			if err := printGeneration(w, enc, m, generations, asJSON); err != nil {
				return err
			}
			continue
		case record.TopicConflicts:
			if err := printConflict(w, enc, m, conflicts, asJSON); err != nil {
				return err
			}
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

// printGeneration prints one record of cachet.purges, unless a generation
// as new of its (owner, scope) was printed already.
func printGeneration(w io.Writer, enc *json.Encoder, m *kafka.Message, newest map[string]uint64, asJSON bool) error {
	g, err := record.DecodeGeneration(m.Value)
	if err != nil {
		_, err = fmt.Fprintf(w, "# %v[%d]@%d: %v\n", m.Topic, m.Partition, m.Offset, err)
		return err
	}
	id := g.Owner + " " + g.Scope.String()
	if g.Generation <= newest[id] {
		return nil
	}
	newest[id] = g.Generation
	if asJSON {
		return enc.Encode(g)
	}
	_, err = fmt.Fprintf(w, "%-8s %-11s %s  generation %d  soft=%v  owner %s  by %s  %s\n", g.Position, "PURGE", g.Scope, g.Generation, g.Soft, g.Owner, g.Actor, g.Reason)
	return err
}

// printConflict prints one record of cachet.conflicts, unless its
// transaction was printed already.
func printConflict(w io.Writer, enc *json.Encoder, m *kafka.Message, seen map[string]bool, asJSON bool) error {
	c, err := record.DecodeConflict(m.Value)
	if err != nil {
		_, err = fmt.Fprintf(w, "# %v[%d]@%d: %v\n", m.Topic, m.Partition, m.Offset, err)
		return err
	}
	if seen[c.TxID] {
		return nil
	}
	seen[c.TxID] = true
	if asJSON {
		return enc.Encode(c)
	}
	_, err = fmt.Fprintf(w, "%-8s %-11s %s  %s  by %s  tx %s\n", c.Position, "CONFLICT", strings.Join(c.Keys, ","), c.Code, c.Creator, c.TxID)
	return err
}
