package gateway

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/cachetsync/cachet/record"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

// FollowConfig says where a follower starts and how it recovers.
type FollowConfig struct {
	// Checkpointer holds the last fully handled position; Follow resumes
	// right after it and saves each handled transaction's position.
	Checkpointer Checkpointer
	// StartBlock is where to begin when the checkpoint is empty (default 0:
	// the whole ledger).
	StartBlock uint64
	// FromNewest starts at the next block to commit, when the checkpoint is
	// empty, instead of StartBlock.
	FromNewest bool
	// MinBackoff and MaxBackoff bound the jittered wait before reconnecting
	// (defaults 100ms and 5s).
	MinBackoff, MaxBackoff time.Duration
	// OnReconnect, if set, is told of every lost stream and the peer used
	// next (for logs and metrics).
	OnReconnect func(err error, attempt int)
	// IncludeInvalid delivers transactions the peers marked invalid too
	// (Valid false, no event). By default they are skipped, and counted
	// through OnInvalid.
	IncludeInvalid bool
	// OnInvalid, if set, is told of each skipped invalid transaction.
	OnInvalid func(tx Transaction)
}

// Handler processes one committed transaction. Follow saves the position only
// after Handler returns nil; an error stops Follow, and the transaction is
// delivered again on the next run.
type Handler func(ctx context.Context, tx Transaction) error

// ErrStreamEnded is reported to OnReconnect when the peer closed the block
// stream (the peer stopped or the connection broke).
var ErrStreamEnded = errors.New("block stream ended")

// Follow delivers every valid committed transaction of the contract's
// channel (see IncludeInvalid), in ledger order, from the checkpoint on, until ctx ends or h fails. Lost
// streams and dead peers are retried with backoff, moving through the
// configured peers; nothing is skipped and nothing handled twice within
// one checkpoint's guarantees (a crash between h and Save repeats at most
// one transaction, which version-checked consumers ignore).
func (c *Client) Follow(ctx context.Context, cfg FollowConfig, h Handler) error {
	if cfg.Checkpointer == nil {
		return &ConfigError{Field: "FollowConfig.Checkpointer", Err: errors.New("required")}
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	for attempt := 0; ; attempt++ {
		err := c.followOnce(ctx, cfg, h)
		var he *handlerError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &he):
			return he.err
		case errors.As(err, new(*BlockError)):
			return err
		}
		if cfg.OnReconnect != nil {
			cfg.OnReconnect(err, attempt+1)
		}
		// Try the next peer after every failure: a dead peer is skipped at
		// once, a live one is only left for another live one.
		_, idx := c.network()
		if _, ferr := c.failover(idx, 1); ferr != nil && cfg.OnReconnect != nil {
			cfg.OnReconnect(ferr, attempt+1)
		}
		wait := min(cfg.MaxBackoff, cfg.MinBackoff<<min(attempt, 16))
		select {
		case <-time.After(wait/2 + rand.N(wait/2+1)):
		case <-ctx.Done():
			return ctx.Err()
		}
		if err == nil {
			attempt = -1 // progress was made before the stream ended
		}
	}
}

type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// followOnce reads one block stream until it ends. It returns nil if it
// delivered at least one transaction before the stream ended.
func (c *Client) followOnce(ctx context.Context, cfg FollowConfig, h Handler) error {
	last, have := cfg.Checkpointer.Last()
	start := cfg.StartBlock
	if have {
		start = last.Block
	}
	network, _ := c.network()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var opts []client.BlockEventsOption
	if have || !cfg.FromNewest {
		opts = append(opts, client.WithStartBlock(start))
	}
	blocks, err := network.BlockEvents(sctx, opts...)
	if err != nil {
		return classify(StageEvaluate, err)
	}
	progressed := false
	for b := range blocks {
		txs, err := parseBlock(b, c.cfg.Chaincode)
		if err != nil {
			return err
		}
		for _, tx := range txs {
			if have && !last.Less(tx.Position) {
				continue // handled before the checkpoint
			}
			switch {
			case tx.Valid || cfg.IncludeInvalid:
				if err := h(ctx, tx); err != nil {
					return &handlerError{err}
				}
			case cfg.OnInvalid != nil:
				cfg.OnInvalid(tx)
			}
			if err := cfg.Checkpointer.Save(tx.Position); err != nil {
				return &handlerError{err}
			}
			last, have, progressed = tx.Position, true, true
		}
	}
	if progressed {
		return nil
	}
	return ErrStreamEnded
}

// network returns the channel on the current peer and the peer's index.
func (c *Client) network() (*client.Network, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gw.GetNetwork(c.cfg.Channel), c.current
}

// Position is re-exported for callers that only import gateway.
type Position = record.Position
