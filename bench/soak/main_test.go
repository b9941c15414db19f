package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestReport: a committed transaction a stream never delivered counts as
// lost, one it delivered twice as duplicated, one nobody committed as
// unexpected; recovery runs from the kill to the first delivery of a
// transaction submitted after it, and from the restart.
func TestReport(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	a, b, c := tv{"k/a", 1}, tv{"k/b", 2}, tv{"k/c", 1}
	ops := map[tv]ledgerOp{a: {submitted: at(1)}, b: {submitted: at(12)}, c: {submitted: at(20)}}
	events := []event{{at(10), "kill", "relay"}, {at(14), "start", "relay"}}
	tests := []struct {
		name    string
		kafka   map[tv][]float64 // deliveries' times
		push    map[tv][]float64
		wantErr bool
		want    []string
	}{
		{"all once", map[tv][]float64{a: {2}, b: {16}, c: {21}}, map[tv][]float64{a: {2}, b: {17}, c: {21}}, false,
			[]string{"kafka_lost: 0\n", "push_lost: 0\n", "push_duplicated: 0\n", "worst_recovery_seconds: 7.0\n", "worst_recovery_after_restart_seconds: 3.0\n"}},
		{"push lost one", map[tv][]float64{a: {2}, b: {16}, c: {21}}, map[tv][]float64{a: {2}, c: {21}}, true,
			[]string{"kafka_lost: 0\n", "push_lost: 1\n", "worst_recovery_seconds: 11.0\n"}},
		{"kafka twice, one unexpected", map[tv][]float64{a: {2, 3}, b: {16}, c: {21}, {"k/d", 1}: {5}}, map[tv][]float64{a: {2}, b: {17}, c: {21}}, true,
			[]string{"kafka_duplicated: 1\n", "kafka_unexpected: 1\n", "push_duplicated: 0\n"}},
		{"never recovered", map[tv][]float64{a: {2}}, map[tv][]float64{a: {2}}, true,
			[]string{"kafka_lost: 2\n", "faults_unrecovered: 1\n"}},
	}
	for _, tc := range tests {
		fill := func(m map[tv][]float64) *seen {
			s := newSeen()
			for k, ts := range m {
				for _, x := range ts {
					s.add(k, at(x))
				}
			}
			return s
		}
		var out bytes.Buffer
		err := report(&out, &loader{ops: ops}, fill(tc.kafka), fill(tc.push), events)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want an error: %v", tc.name, err, tc.wantErr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: no %q in\n%s", tc.name, strings.TrimSpace(w), out.String())
			}
		}
	}
}
