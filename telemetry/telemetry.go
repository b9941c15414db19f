// Package telemetry sets up OpenTelemetry tracing for Cachet's daemons and
// carries trace context across the hops that are not RPCs: the chaincode
// event's traceparent, Kafka headers and push frames.
//
// A daemon calls Setup once. With no OTLP endpoint configured (flag or
// OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) tracing
// stays a no-op and costs nothing. The spans' resource honours
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config names the service and where its spans go.
type Config struct {
	// Service is the service.name resource attribute ("cachet-relay", ...);
	// OTEL_SERVICE_NAME, when set, names the service instead.
	Service string
	// Endpoint is an OTLP/HTTP base URL (http://127.0.0.1:4318). Empty:
	// the standard OTEL_EXPORTER_OTLP_* variables, and no export when
	// none is set.
	Endpoint string
	// Sampler defaults to parent-based always-on: a trace started by a
	// client that sampled it is kept in every hop.
	Sampler sdktrace.Sampler
}

// Shutdown flushes pending spans and stops the exporter.
type Shutdown func(context.Context) error

// Setup installs a global tracer provider and the W3C trace-context
// propagator. It returns a no-op Shutdown when nothing is configured.
func Setup(ctx context.Context, cfg Config) (Shutdown, error) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	endpoint := cfg.Endpoint
	if endpoint == "" && os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return func(context.Context) error { return nil }, nil
	}
	if cfg.Service == "" {
		return nil, errors.New("telemetry: Config.Service is required")
	}
	var opts []otlptracehttp.Option
	if endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimRight(endpoint, "/")+"/v1/traces"))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	sampler := cfg.Sampler
	if sampler == nil {
		sampler = sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	res, err := newResource(ctx, cfg.Service)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sampler),
		sdktrace.WithResource(res),
	)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// newResource describes the process: service.name, then the host and
// process (host.name, process.pid, the Go runtime), then what
// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME say, which win (a pod's
// k8s.* attributes, deployment.environment, another service name).
func newResource(ctx context.Context, service string) (*sdkresource.Resource, error) {
	res, err := sdkresource.New(ctx,
		sdkresource.WithAttributes(attribute.String("service.name", service)),
		sdkresource.WithHost(),
		sdkresource.WithProcessPID(),
		sdkresource.WithProcessRuntimeName(),
		sdkresource.WithProcessRuntimeVersion(),
		sdkresource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	return res, nil
}

// WithTraceparent returns ctx carrying the remote span context named by a
// W3C traceparent header value, so spans started from it join that trace.
// An empty or malformed value leaves ctx as it is.
func WithTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// Traceparent returns the W3C traceparent of the span in ctx, or "" when
// ctx holds no valid span context.
func Traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c.Get("traceparent")
}
