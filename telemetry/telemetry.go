// Package telemetry sets up OpenTelemetry tracing for Cachet's daemons and
// carries trace context across the hops that are not RPCs: the chaincode
// event's traceparent, Kafka headers and push frames.
//
// A daemon calls Setup once. With no OTLP endpoint configured (flag or
// OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) tracing
// stays a no-op and costs nothing. The spans' resource honours
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, the sampler
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
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
	// Version is the service.version resource attribute; empty: the main
	// module's version from the build information (runtime/debug).
	Version string
	// Sampler, when set, wins over the environment. Nil: the sampler
	// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name (SamplerFromEnv),
	// parent-based always-on when unset: a trace started by a client that
	// sampled it is kept in every hop.
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
		var err error
		// An invalid value gets the specification's fallback and a warning.
		if sampler, err = SamplerFromEnv(os.Getenv); err != nil {
			slog.WarnContext(ctx, err.Error())
		}
	}
	res, err := newResource(ctx, cfg.Service, cfg.Version)
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

// newResource describes the process: service.name and service.version
// (empty: moduleVersion), then the host and process (host.name,
// process.pid, the Go runtime), then what OTEL_RESOURCE_ATTRIBUTES and
// OTEL_SERVICE_NAME say, which win (a pod's k8s.* attributes,
// deployment.environment, another service name or version).
func newResource(ctx context.Context, service, version string) (*sdkresource.Resource, error) {
	if version == "" {
		version = moduleVersion()
	}
	res, err := sdkresource.New(ctx,
		sdkresource.WithAttributes(attribute.String("service.name", service), attribute.String("service.version", version)),
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

// moduleVersion is the main module's version as the build information
// records it: a tag or pseudo-version, or "(devel)" for a build from a
// working tree that Go could not stamp.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
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
