//go:build e2e

package e2e

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/telemetry/telemetrytest"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

var errFound = errors.New("found")

// tracing is what a test sees of its traces: its own spans (gateway
// submits) through an in-memory tracer provider, and the daemons' spans
// through an in-process OTLP receiver they export to.
type tracing struct {
	tp   *sdktrace.TracerProvider
	mem  *tracetest.InMemoryExporter
	recv *telemetrytest.Receiver
	otlp string // the receiver's URL, for --otlp-endpoint
}

// startTracing installs the test's tracer provider and starts the OTLP
// receiver; both go away when the test ends.
func startTracing(tb testing.TB) tracing {
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(mem))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	recv := telemetrytest.NewReceiver(0)
	srv := httptest.NewServer(recv)
	tb.Cleanup(func() {
		srv.Close()
		otel.SetTracerProvider(prev)
	})
	return tracing{tp: tp, mem: mem, recv: recv, otlp: srv.URL}
}

// TestTraceContextReachesTheLedgerEvent submits inside a span and reads the
// committed block back: the contract's event carries the span's trace, and
// the gateway recorded endorse, submit and commit spans in it.
func TestTraceContextReachesTheLedgerEvent(t *testing.T) {
	tr := startTracing(t)
	tp, exp := tr.tp, tr.mem

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
