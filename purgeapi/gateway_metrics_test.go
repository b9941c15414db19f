package purgeapi

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachetsync/cachet/gateway"
)

func TestGatewayMetricsCountSubmitsAndCodes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewGatewayMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []gateway.SubmitObservation{
		{Transaction: "InvalidateBatch", Duration: 30 * time.Millisecond, Attempts: 1},
		{Transaction: "InvalidateBatch", Duration: 2 * time.Second, Attempts: 5, Err: &gateway.Error{Code: gateway.CodeConflict, Stage: gateway.StageCommit}},
		{Transaction: "PurgeScope", Duration: 40 * time.Millisecond, Attempts: 1,
			Err: fmt.Errorf("purge: %w", &gateway.Error{Code: gateway.CodeEndorsementPolicy, Stage: gateway.StageCommit})},
		{Transaction: "PurgeScope", Duration: time.Millisecond, Attempts: 1, Err: errors.New("no gateway error")},
	} {
		m.ObserveSubmit(o)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	errs := map[string]float64{}
	submits := map[string]uint64{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			label := s.GetLabel()[0].GetValue()
			switch mf.GetName() {
			case "cachet_gateway_submit_errors_total":
				errs[label] = s.GetCounter().GetValue()
			case "cachet_gateway_submit_seconds":
				submits[label] = s.GetHistogram().GetSampleCount()
			}
		}
	}
	if fmt.Sprint(submits) != "map[InvalidateBatch:2 PurgeScope:2]" {
		t.Errorf("submits by transaction %v, want 2 InvalidateBatch and 2 PurgeScope", submits)
	}
	for code, want := range map[gateway.Code]float64{
		gateway.CodeConflict: 1, gateway.CodeEndorsementPolicy: 1, gateway.CodeUnknown: 1, gateway.CodeForbidden: 0, gateway.CodeUnavailable: 0,
	} {
		if got, ok := errs[string(code)]; !ok || got != want {
			t.Errorf("cachet_gateway_submit_errors_total{code=%q} = %v (present %v), want %v", code, got, ok, want)
		}
	}
	if len(errs) != len(gateway.Codes()) {
		t.Errorf("%d error codes exported, want every one of gateway.Codes() (%d) from the start", len(errs), len(gateway.Codes()))
	}
}
