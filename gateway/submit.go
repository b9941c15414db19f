package gateway

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/cachetsync/cachet/ledger"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracer looks the global provider up on each use: a package-level tracer
// stays bound to the first provider ever installed.
func tracer() trace.Tracer { return otel.Tracer("github.com/cachetsync/cachet/gateway") }

// RetryPolicy bounds how often a transaction that lost an MVCC race, or
// whose endorsers disagreed because one lagged a block, is run again
// through the whole endorse–submit–commit flow.
type RetryPolicy struct {
	MaxAttempts int           // total attempts, default 5
	BaseDelay   time.Duration // default 10ms; doubles per attempt
	MaxDelay    time.Duration // default 500ms
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 10 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 500 * time.Millisecond
	}
	return p
}

// delay is full jitter: uniform in [0, min(MaxDelay, BaseDelay·2^attempt)).
func (p RetryPolicy) delay(attempt int) time.Duration {
	d := p.BaseDelay << min(attempt, 20)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	return rand.N(d)
}

// Committed identifies a committed transaction.
type Committed struct {
	TxID     string
	Block    uint64
	Attempts int // 1 unless conflicts or mismatches made it run again
}

// submit runs name through endorse, submit and commit, carrying transient
// and the caller's trace context to the contract in the transient map, and re-runs
// it on MVCC conflicts and endorsement mismatches as the retry policy
// allows. Config.Observer, when set, is told of the outcome.
func (c *Client) submit(ctx context.Context, transient map[string][]byte, name string, args ...string) ([]byte, Committed, error) {
	ctx, span := tracer().Start(ctx, "cachet.submit "+name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("cachet.transaction", name)))
	defer span.End()
	start := time.Now()
	result, done, err := retryConflicts(ctx, c.cfg.Retry, func(ctx context.Context) ([]byte, Committed, error) {
		var result []byte
		var done Committed
		err := c.withFailover(ctx, func(contract *client.Contract, _ *client.Network) error {
			var err error
			result, done, err = c.submitOnce(ctx, contract, transient, name, args)
			return err
		})
		return result, done, err
	})
	if c.cfg.Observer != nil {
		c.cfg.Observer.ObserveSubmit(SubmitObservation{Transaction: name, Duration: time.Since(start), Attempts: done.Attempts, Err: err})
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return nil, done, err
	}
	span.SetAttributes(attribute.String("cachet.tx_id", done.TxID), attribute.Int64("cachet.block", int64(done.Block)), attribute.Int("cachet.attempts", done.Attempts))
	return result, done, nil
}

// retryConflicts runs attempt until it succeeds, fails with an error that is
// not retryable (Error.Retryable), or the policy's attempts are spent, waiting a jittered
// backoff between attempts.
func retryConflicts(ctx context.Context, policy RetryPolicy, attempt func(context.Context) ([]byte, Committed, error)) ([]byte, Committed, error) {
	policy = policy.withDefaults()
	for n := 1; ; n++ {
		result, done, err := attempt(ctx)
		done.Attempts = n
		if err == nil {
			return result, done, nil
		}
		var ge *Error
		if !errors.As(err, &ge) || !ge.Retryable() || n >= policy.MaxAttempts {
			return nil, done, err
		}
		select {
		case <-time.After(policy.delay(n)):
		case <-ctx.Done():
			return nil, done, classify(StageSubmit, ctx.Err())
		}
	}
}

func (c *Client) submitOnce(ctx context.Context, contract *client.Contract, extra map[string][]byte, name string, args []string) ([]byte, Committed, error) {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	transient := make(map[string][]byte, len(extra)+1)
	for k, v := range extra {
		transient[k] = v
	}
	if tp := carrier.Get("traceparent"); tp != "" {
		transient[ledger.TransientTraceparent] = []byte(tp)
	}
	proposal, err := contract.NewProposal(name, client.WithArguments(args...), client.WithTransient(transient))
	if err != nil {
		return nil, Committed{}, classify(StageEndorse, err)
	}
	done := Committed{TxID: proposal.TransactionID()}

	ectx, cancel := c.stageContext(ctx, StageEndorse)
	ectx, span := tracer().Start(ectx, "fabric.endorse")
	tx, err := proposal.EndorseWithContext(ectx)
	endSpan(span, err)
	cancel()
	if err != nil {
		return nil, done, classify(StageEndorse, err)
	}
	sctx, cancel := c.stageContext(ctx, StageSubmit)
	sctx, span = tracer().Start(sctx, "fabric.submit")
	commit, err := tx.SubmitWithContext(sctx)
	endSpan(span, err)
	cancel()
	if err != nil {
		return nil, done, classify(StageSubmit, err)
	}
	cctx, cancel := c.stageContext(ctx, StageCommit)
	cctx, span = tracer().Start(cctx, "fabric.commit")
	status, err := commit.StatusWithContext(cctx)
	if err == nil {
		span.SetAttributes(attribute.Int64("cachet.block", int64(status.BlockNumber)), attribute.String("fabric.validation_code", status.Code.String()))
	}
	endSpan(span, err)
	cancel()
	if err != nil {
		return nil, done, classify(StageCommit, err)
	}
	done.Block = status.BlockNumber
	if !status.Successful {
		return nil, done, fromValidationCode(done.TxID, status.Code, errors.New("transaction "+done.TxID+" committed as invalid: "+status.Code.String()))
	}
	return tx.Result(), done, nil
}

// evaluate runs a query on one peer, moving to another if it is down.
func (c *Client) evaluate(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, span := tracer().Start(ctx, "cachet.evaluate "+name, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	var result []byte
	err := c.withFailover(ctx, func(contract *client.Contract, _ *client.Network) error {
		ectx, cancel := c.stageContext(ctx, StageEvaluate)
		defer cancel()
		var err error
		result, err = contract.EvaluateWithContext(ectx, name, client.WithArguments(args...))
		return classify(StageEvaluate, err)
	})
	endSpan(span, err)
	return result, err
}

// stageContext bounds one call to a peer by the configured timeout of its
// stage (Config.EvaluateTimeout, EndorseTimeout, SubmitTimeout,
// CommitTimeout): fabric-gateway's …WithContext calls use the context as
// given, without the client's default timeouts, and a commit status wait
// for a transaction lost with an orderer would otherwise last as long as
// the caller's context.
func (c *Client) stageContext(ctx context.Context, s Stage) (context.Context, context.CancelFunc) {
	d := c.cfg.EvaluateTimeout
	switch s {
	case StageEndorse:
		d = c.cfg.EndorseTimeout
	case StageSubmit:
		d = c.cfg.SubmitTimeout
	case StageCommit:
		d = c.cfg.CommitTimeout
	}
	return context.WithTimeout(ctx, d)
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
