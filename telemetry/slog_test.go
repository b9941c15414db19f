package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/cachetsync/cachet/telemetry"
)

func TestLogHandlerAddsTraceID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("service", "test").WithGroup("g")
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	log.InfoContext(ctx, "inside", "k", 1)
	span.End()
	log.InfoContext(context.Background(), "outside")

	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %s", len(lines), buf.String())
	}
	g, _ := lines[0]["g"].(map[string]any)
	want := span.SpanContext()
	if g["trace_id"] != want.TraceID().String() || g["span_id"] != want.SpanID().String() || lines[0]["service"] != "test" {
		t.Errorf("inside a span: %v, want trace %s span %s", lines[0], want.TraceID(), want.SpanID())
	}
	if g, _ := lines[1]["g"].(map[string]any); g != nil && g["trace_id"] != nil {
		t.Errorf("outside a span: %v, want no trace_id", lines[1])
	}
}

func TestLogHandlerHonoursLevel(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(telemetry.NewLogHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	log.Info("dropped")
	log.Warn("kept")
	if s := buf.String(); bytes.Contains(buf.Bytes(), []byte("dropped")) || !bytes.Contains(buf.Bytes(), []byte("kept")) {
		t.Fatalf("got %q", s)
	}
}
