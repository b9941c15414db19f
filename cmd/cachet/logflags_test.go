package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestLogFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		debug bool // a debug line is logged
		json  bool
	}{
		{nil, false, false},
		{[]string{"--log-format", "json", "--log-level", "debug"}, true, true},
		{[]string{"--log-level", "WARN"}, false, false},
	} {
		var lf logFlags
		f := newFlagSetForTest()
		lf.register(f, slog.LevelInfo)
		if err := f.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		log, err := lf.logger(&buf)
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider()
		ctx, span := tp.Tracer("t").Start(context.Background(), "op")
		log.DebugContext(ctx, "debug line")
		log.WarnContext(ctx, "warn line")
		span.End()
		tp.Shutdown(context.Background())
		s := buf.String()
		if bytes.Contains(buf.Bytes(), []byte("debug line")) != tc.debug {
			t.Errorf("%q: %q, debug logged %v", tc.args, s, !tc.debug)
		}
		if !bytes.Contains(buf.Bytes(), []byte(span.SpanContext().TraceID().String())) {
			t.Errorf("%q: %q lacks the trace ID", tc.args, s)
		}
		var m map[string]any
		if isJSON := json.Unmarshal(bytes.SplitN(buf.Bytes(), []byte("\n"), 2)[0], &m) == nil; isJSON != tc.json {
			t.Errorf("%q: %q, JSON %v", tc.args, s, isJSON)
		}
	}
}
