package telemetry_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"

	"github.com/cachetsync/cachet/telemetry"
	"github.com/cachetsync/cachet/telemetry/telemetrytest"
)

// A span exported through Setup's OTLP/HTTP exporter arrives at the
// in-process receiver as a child of the traceparent it was started from.
func TestSetupExportsToReceiver(t *testing.T) {
	recv := telemetrytest.NewReceiver(0)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	ctx := context.Background()
	shutdown, err := telemetry.Setup(ctx, telemetry.Config{Service: "cachet-test", Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	sctx, span := otel.Tracer("test").Start(telemetry.WithTraceparent(ctx, parent), "relay.transition")
	span.SetAttributes(attribute.Int64("cache.version", 7))
	if tp := telemetry.Traceparent(sctx); !strings.HasPrefix(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || tp == parent {
		t.Errorf("Traceparent of the child = %q, want the same trace and a new span", tp)
	}
	span.End()
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	got := recv.Trace("4bf92f3577b34da6a3ce929d0e0e4736")
	if len(got) != 1 {
		t.Fatalf("receiver holds %d spans of the trace, want 1: %+v", len(got), recv.Spans())
	}
	s := got[0]
	if s.Service != "cachet-test" || s.Name != "relay.transition" || s.ParentSpanID != "00f067aa0ba902b7" || s.Attributes["cache.version"] != "7" {
		t.Errorf("span = %+v", s)
	}
	if s.Duration() < 0 || s.Duration() > time.Minute {
		t.Errorf("duration %v", s.Duration())
	}
}

// OTEL_SERVICE_NAME names the service of the exported spans.
func TestSetupHonoursServiceNameEnv(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "relay-eu")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=p1")
	recv := telemetrytest.NewReceiver(0)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	ctx := context.Background()
	shutdown, err := telemetry.Setup(ctx, telemetry.Config{Service: "cachet-relay", Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(ctx, "relay.transition")
	span.End()
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if spans := recv.Spans(); len(spans) != 1 || spans[0].Service != "relay-eu" {
		t.Fatalf("spans %+v, want one of service relay-eu", spans)
	}
}

func TestWithTraceparentIgnoresGarbage(t *testing.T) {
	for _, tp := range []string{"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"} {
		if got := telemetry.Traceparent(telemetry.WithTraceparent(context.Background(), tp)); got != "" {
			t.Errorf("WithTraceparent(%q) carried %q", tp, got)
		}
	}
}
