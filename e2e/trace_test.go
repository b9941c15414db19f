//go:build e2e

package e2e

import (
	"context"
	"errors"
	"testing"

	"github.com/cachetsync/cachet/gateway"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var errFound = errors.New("found")

// TestTraceContextReachesTheLedgerEvent submits inside a span and reads the
// committed block back: the contract's event carries the span's trace, and
// the gateway recorded endorse, submit and commit spans in it.
func TestTraceContextReachesTheLedgerEvent(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	ctx := ctxT(t)
	pub := client(t, "org1", "publisher")
	sctx, span := tp.Tracer("e2e").Start(ctx, "operator publishes")
	_, done, err := pub.Publish(sctx, gateway.PublishRequest{Key: "img:traced"})
	span.End()
	if err != nil {
		t.Fatal(err)
	}
	traceID := span.SpanContext().TraceID().String()

	var traceparent string
	err = client(t, "org1", "auditor").Follow(ctx, gateway.FollowConfig{Checkpointer: &gateway.MemoryCheckpointer{}, StartBlock: done.Block},
		func(_ context.Context, tx gateway.Transaction) error {
			if tx.TxID != done.TxID {
				return nil
			}
			traceparent = tx.Event.Traceparent
			return errFound
		})
	if !errors.Is(err, errFound) {
		t.Fatalf("follow: %v", err)
	}
	if len(traceparent) != 55 || traceparent[3:35] != traceID {
		t.Fatalf("event traceparent %q, want trace %s", traceparent, traceID)
	}
	names := map[string]bool{}
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID().String() == traceID {
			names[s.Name] = true
		}
	}
	for _, want := range []string{"cachet.submit Publish", "fabric.endorse", "fabric.submit", "fabric.commit"} {
		if !names[want] {
			t.Errorf("span %q missing from the trace (have %v)", want, names)
		}
	}
}
