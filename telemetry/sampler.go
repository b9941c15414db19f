package telemetry

import (
	"fmt"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The environment variables that choose the sampler, as the OpenTelemetry
// specification names them.
const (
	EnvTracesSampler    = "OTEL_TRACES_SAMPLER"
	EnvTracesSamplerArg = "OTEL_TRACES_SAMPLER_ARG"
)

// SamplerError reports an OTEL_TRACES_SAMPLER or OTEL_TRACES_SAMPLER_ARG
// value that is not valid. The specification asks for a warning and the
// default in its place, which SamplerFromEnv returns along with it.
type SamplerError struct {
	Var, Value string // the variable and its value
	Reason     string // what is wrong with it
	Fallback   string // what is used instead
}

func (e *SamplerError) Error() string {
	return fmt.Sprintf("telemetry: %s=%q: %s; using %s", e.Var, e.Value, e.Reason, e.Fallback)
}

// SamplerFromEnv returns the sampler that OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG name, read through getenv: always_on,
// always_off, traceidratio, parentbased_always_on (the default, also when
// unset or empty), parentbased_always_off and parentbased_traceidratio,
// case-insensitively. The ratio samplers take the probability from the
// argument, 1.0 when it is unset. A value that is not valid (an unknown or
// unsupported sampler, an argument that is not a number in [0, 1]) yields
// the specification's fallback and a *SamplerError saying so, for the
// caller to log as a warning.
func SamplerFromEnv(getenv func(string) string) (sdktrace.Sampler, error) {
	name := strings.ToLower(strings.TrimSpace(getenv(EnvTracesSampler)))
	ratio := func() (float64, error) {
		arg := strings.TrimSpace(getenv(EnvTracesSamplerArg))
		if arg == "" {
			return 1, nil
		}
		p, err := strconv.ParseFloat(arg, 64)
		if err != nil || p < 0 || p > 1 {
			return 1, &SamplerError{Var: EnvTracesSamplerArg, Value: arg, Reason: "want a probability in [0, 1]", Fallback: "1.0"}
		}
		return p, nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		p, err := ratio()
		return sdktrace.TraceIDRatioBased(p), err
	case "parentbased_traceidratio":
		p, err := ratio()
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(p)), err
	}
	reason := "unknown sampler"
	if name == "jaeger_remote" || name == "parentbased_jaeger_remote" || name == "xray" {
		reason = "sampler not supported by Cachet"
	}
	return sdktrace.ParentBased(sdktrace.AlwaysSample()),
		&SamplerError{Var: EnvTracesSampler, Value: getenv(EnvTracesSampler), Reason: reason + " (want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio)", Fallback: "parentbased_always_on"}
}
