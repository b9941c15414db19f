package push

import (
	"context"
	"math"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/telemetry"
)

// tracerName is the instrumentation scope of the push server's spans.
const tracerName = "github.com/cachetsync/cachet/push"

// tracer returns the global provider's tracer at the time of the call, so
// a provider installed after New (telemetry.Setup) is used.
func tracer() trace.Tracer { return otel.Tracer(tracerName) }

// Bounds of a browser span (PROTOCOL.md, "span").
const (
	SpanNamePrefix    = "cachet.sdk."
	MaxSpanName       = 64
	MaxSpanAttributes = 16
	MaxSpanAttrKey    = 64
	MaxSpanAttrValue  = 256
	MaxSpanDuration   = 10 * time.Minute
	MaxSpanClockSkew  = 24 * time.Hour
	MaxSpansPerPost   = 100
)

// Reasons a browser span is dropped (label of cachet_push_spans_dropped_total).
const (
	SpanDropName        = "name"
	SpanDropTraceparent = "traceparent"
	SpanDropAttributes  = "attributes"
	SpanDropTime        = "time"
	SpanDropUnsampled   = "unsampled" // the parent is not sampled, or no exporter is set up
)

// msTime converts Unix epoch milliseconds (fractional allowed) to a time,
// keeping the fraction to the nanosecond.
func msTime(ms float64) time.Time {
	whole := math.Floor(ms)
	return time.UnixMilli(int64(whole)).Add(time.Duration(math.Round((ms - whole) * 1e6)))
}

// checkSpan returns why f cannot be exported, or "", with its parent
// context and times.
func checkSpan(f ClientFrame, now time.Time) (ctx context.Context, start, end time.Time, reason string) {
	if len(f.Name) > MaxSpanName || !strings.HasPrefix(f.Name, SpanNamePrefix) || len(f.Name) == len(SpanNamePrefix) {
		return nil, start, end, SpanDropName
	}
	ctx = telemetry.WithTraceparent(context.Background(), f.Traceparent)
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil, start, end, SpanDropTraceparent
	}
	if len(f.Attributes) > MaxSpanAttributes {
		return nil, start, end, SpanDropAttributes
	}
	for k, v := range f.Attributes {
		if k == "" || len(k) > MaxSpanAttrKey || len(v) > MaxSpanAttrValue {
			return nil, start, end, SpanDropAttributes
		}
	}
	for _, ms := range []float64{f.StartMs, f.EndMs} {
		if math.IsNaN(ms) || math.IsInf(ms, 0) || ms <= 0 || ms > 1e15 {
			return nil, start, end, SpanDropTime
		}
	}
	start, end = msTime(f.StartMs), msTime(f.EndMs)
	if end.Before(start) || end.Sub(start) > MaxSpanDuration || start.Sub(now).Abs() > MaxSpanClockSkew {
		return nil, start, end, SpanDropTime
	}
	return ctx, start, end, ""
}

// exportSpan exports a browser span through the global tracer provider as
// a child of its traceparent, with the browser's name, times and string
// attributes plus cachet.reported_by=sdk. It returns the drop reason, or "".
func (s *Server) exportSpan(f ClientFrame) string {
	ctx, start, end, reason := checkSpan(f, time.Now())
	if reason == "" {
		attrs := make([]attribute.KeyValue, 0, len(f.Attributes)+1)
		for k, v := range f.Attributes {
			attrs = append(attrs, attribute.String(k, v))
		}
		attrs = append(attrs, attribute.String("cachet.reported_by", "sdk"))
		_, span := tracer().Start(ctx, f.Name, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
		if span.IsRecording() {
			span.End(trace.WithTimestamp(end))
			s.m.spansExported.Inc()
			return ""
		}
		reason = SpanDropUnsampled
	}
	s.m.spansDropped.WithLabelValues(reason).Inc()
	return reason
}

// startFanout starts the push.fanout span of a transition or purge, a
// child of the record's traceparent header (or, without one, of the
// record's traceparent field *recordTP), and puts the span's own
// traceparent into *recordTP so the browser's eviction span becomes its
// child. Without a valid parent, or when the span is not recorded (no
// exporter, parent not sampled), *recordTP is left alone and the browser's
// span joins the record's span directly. The span is a CONSUMER span with
// the messaging attributes of processing the record keyed key at at
// (telemetry.KafkaProcess; none when at names no topic) besides attrs.
func startFanout(recordTP *string, header string, at kafka.TopicPartition, key string, attrs ...attribute.KeyValue) trace.Span {
	parent := header
	if parent == "" {
		parent = *recordTP
	}
	ctx := telemetry.WithTraceparent(context.Background(), parent)
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return trace.SpanFromContext(ctx) // no-op
	}
	ctx, span := tracer().Start(ctx, "push.fanout", trace.WithSpanKind(trace.SpanKindConsumer))
	if !span.IsRecording() {
		return span
	}
	if at.Topic != "" {
		attrs = append(attrs, telemetry.KafkaProcess(at.Topic, at.Partition, at.Offset, key)...)
	}
	span.SetAttributes(attrs...)
	if tp := telemetry.Traceparent(ctx); tp != "" {
		*recordTP = tp
	}
	return span
}
