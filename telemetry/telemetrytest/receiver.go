// Package telemetrytest is an in-process OTLP/HTTP trace receiver for tests:
// spans exported through telemetry.Setup land in memory, where a test reads
// whole traces without a collector.
package telemetrytest

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one span as an OTLP receiver got it.
type Span struct {
	Service      string
	Name         string
	Kind         string // "internal", "server", "client", "producer" or "consumer"; "unspecified"
	TraceID      string // 32 hex digits
	SpanID       string // 16 hex digits
	ParentSpanID string // "" for a root span
	Start, End   time.Time
	Attributes   map[string]string // values in their string form
}

// Duration is how long the span lasted.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Receiver is a minimal in-process OTLP/HTTP trace receiver (protobuf
// encoding, POST /v1/traces) that keeps what it receives in memory.
type Receiver struct {
	mu    sync.Mutex
	spans []Span
	limit int
}

// NewReceiver returns a receiver keeping at most limit spans (oldest
// dropped first; 0 means 100,000).
func NewReceiver(limit int) *Receiver {
	if limit <= 0 {
		limit = 100_000
	}
	return &Receiver{limit: limit}
}

// ServeHTTP accepts OTLP/HTTP protobuf export requests.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg collpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &msg); err != nil {
		http.Error(w, fmt.Sprintf("not an OTLP protobuf trace export: %v", err), http.StatusBadRequest)
		return
	}
	r.add(&msg)
	out, _ := proto.Marshal(&collpb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func (r *Receiver) add(msg *collpb.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range msg.ResourceSpans {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				sp := Span{Service: service, Name: s.Name, Kind: strings.ToLower(strings.TrimPrefix(s.Kind.String(), "SPAN_KIND_")),
					TraceID: hex.EncodeToString(s.TraceId), SpanID: hex.EncodeToString(s.SpanId),
					Start: time.Unix(0, int64(s.StartTimeUnixNano)), End: time.Unix(0, int64(s.EndTimeUnixNano)),
					Attributes: map[string]string{}}
				if len(s.ParentSpanId) > 0 {
					sp.ParentSpanID = hex.EncodeToString(s.ParentSpanId)
				}
				for _, kv := range s.Attributes {
					sp.Attributes[kv.Key] = anyValueString(kv.GetValue())
				}
				r.spans = append(r.spans, sp)
			}
		}
	}
	if over := len(r.spans) - r.limit; over > 0 {
		r.spans = append(r.spans[:0], r.spans[over:]...)
	}
}

// Trace returns the spans of one trace ordered by start time.
func (r *Receiver) Trace(traceID string) []Span {
	r.mu.Lock()
	var out []Span
	for _, s := range r.spans {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	r.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Spans returns a copy of everything received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}
