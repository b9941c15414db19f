package push

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/cachetsync/cachet/record"
)

// BenchmarkProcess measures the hub's cost per consumed transition (decode,
// window, fan-out to its sessions) without a tracer provider and with a
// recording one, which adds the push.fanout span and its traceparent.
func BenchmarkProcess(b *testing.B) {
	for _, tc := range []struct {
		sessions int
		traced   bool
	}{{0, false}, {0, true}, {100, false}, {100, true}} {
		traced := tc.traced
		b.Run(fmt.Sprintf("sessions=%d/traced=%v", tc.sessions, traced), func(b *testing.B) {
			if traced {
				prev := otel.GetTracerProvider()
				tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
				otel.SetTracerProvider(tp)
				defer func() { otel.SetTracerProvider(prev); tp.Shutdown(b.Context()) }()
			}
			h := newHub(Epoch("bench", 1), []int64{0}, 1, 4096, newMetrics())
			for i := range tc.sessions {
				s := newSession(fmt.Sprint(i), "ws", []string{"origin:https://shop.example"}, 1<<30, time.Hour)
				h.registerLocked(s)
			}
			v, _ := record.Transition{TxID: "tx", Key: "https://shop.example/a", Version: 1, State: record.StateInvalidated,
				Owner: "Org1MSP", Actor: "Org1MSP", Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}.Marshal()
			off := int64(0)
			for b.Loop() {
				h.process(0, off, v, "")
				h.wake()
				off++
				if off%1024 == 0 {
					for s := range h.sessions {
						s.take(nil)
					}
				}
			}
		})
	}
}
