package telemetry

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestSamplerFromEnv(t *testing.T) {
	on, off := sdktrace.AlwaysSample(), sdktrace.NeverSample()
	pb := sdktrace.ParentBased
	ratio := sdktrace.TraceIDRatioBased
	for _, tc := range []struct {
		name, sampler, arg string
		want               sdktrace.Sampler
		badVar             string // the variable a *SamplerError names; "" for none
	}{
		{"unset: parent-based always on", "", "", pb(on), ""},
		{"always_on", "always_on", "", on, ""},
		{"always_off", "always_off", "0.5", off, ""},
		{"traceidratio", "traceidratio", "0.25", ratio(0.25), ""},
		{"traceidratio without an argument samples everything", "traceidratio", "", ratio(1), ""},
		{"traceidratio 0", "traceidratio", "0", ratio(0), ""},
		{"parentbased_always_on", "parentbased_always_on", "", pb(on), ""},
		{"parentbased_always_off", "parentbased_always_off", "", pb(off), ""},
		{"parentbased_traceidratio", "parentbased_traceidratio", "0.1", pb(ratio(0.1)), ""},
		{"case and spaces ignored", " ParentBased_TraceIdRatio ", " 0.5 ", pb(ratio(0.5)), ""},
		{"ratio above 1 falls back to 1", "traceidratio", "1.5", ratio(1), "OTEL_TRACES_SAMPLER_ARG"},
		{"negative ratio falls back to 1", "parentbased_traceidratio", "-0.1", pb(ratio(1)), "OTEL_TRACES_SAMPLER_ARG"},
		{"ratio not a number falls back to 1", "traceidratio", "half", ratio(1), "OTEL_TRACES_SAMPLER_ARG"},
		{"unknown sampler falls back to the default", "sometimes", "", pb(on), "OTEL_TRACES_SAMPLER"},
		{"jaeger_remote is not supported", "jaeger_remote", "endpoint=http://x", pb(on), "OTEL_TRACES_SAMPLER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{EnvTracesSampler: tc.sampler, EnvTracesSamplerArg: tc.arg}
			got, err := SamplerFromEnv(func(k string) string { return env[k] })
			if got.Description() != tc.want.Description() {
				t.Errorf("sampler %s, want %s", got.Description(), tc.want.Description())
			}
			var se *SamplerError
			switch {
			case tc.badVar == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.badVar != "" && !errors.As(err, &se):
				t.Errorf("error %v, want a *SamplerError", err)
			case tc.badVar != "" && se.Var != tc.badVar:
				t.Errorf("error names %s, want %s: %v", se.Var, tc.badVar, err)
			}
		})
	}
}

// TestSetupHonoursSamplerEnv: Setup's tracer provider samples as
// OTEL_TRACES_SAMPLER says; an explicit Config.Sampler wins over it.
func TestSetupHonoursSamplerEnv(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		explicit  sdktrace.Sampler
		sampled   bool
	}{
		{"always_off", "always_off", nil, false},
		{"always_on", "always_on", nil, true},
		{"invalid: the default samples a root span", "bogus", nil, true},
		{"explicit sampler wins", "always_off", sdktrace.AlwaysSample(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvTracesSampler, tc.env)
			t.Setenv(EnvTracesSamplerArg, "")
			prev := otel.GetTracerProvider()
			t.Cleanup(func() { otel.SetTracerProvider(prev) })
			// The exporter connects only when it has spans to send.
			shutdown, err := Setup(context.Background(), Config{Service: "cachet-test", Endpoint: "http://127.0.0.1:1", Sampler: tc.explicit})
			if err != nil {
				t.Fatal(err)
			}
			_, span := otel.Tracer("test").Start(context.Background(), "root")
			got := span.SpanContext().IsSampled()
			span.End()
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			shutdown(ctx) // the export fails: nothing listens
			if got != tc.sampled {
				t.Errorf("root span sampled %v, want %v", got, tc.sampled)
			}
		})
	}
}
