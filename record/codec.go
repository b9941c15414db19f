package record

import (
	"encoding/json"
	"math"
)

// Marshal encodes t with the current schema version.
func (t Transition) Marshal() ([]byte, error) {
	t.V = Version
	return json.Marshal(t)
}

// Validate checks the rules every transition obeys.
func (t Transition) Validate() error {
	switch {
	case t.Key == "":
		return &InvalidError{Type: "transition", Reason: "empty key"}
	case t.Version == 0:
		return &InvalidError{Type: "transition", Reason: "version 0 (versions start at 1)"}
	case !t.State.Valid():
		return &InvalidError{Type: "transition", Reason: "unknown state " + string(t.State)}
	case t.TxID == "":
		return &InvalidError{Type: "transition", Reason: "empty txId"}
	}
	return nil
}

// DecodeTransition parses and validates a transition record.
func DecodeTransition(b []byte) (Transition, error) {
	var t Transition
	if err := decode("transition", b, &t, &t.V); err != nil {
		return Transition{}, err
	}
	return t, t.Validate()
}

// Marshal encodes r with the current schema version.
func (r Read) Marshal() ([]byte, error) {
	r.V = Version
	return json.Marshal(r)
}

// Validate checks the rules every read record obeys.
func (r Read) Validate() error {
	switch r.Kind {
	case ReadHit, ReadMiss, ReadStale, ReadEvict:
	default:
		return &InvalidError{Type: "read", Reason: "unknown kind " + string(r.Kind)}
	}
	if r.Key == "" {
		return &InvalidError{Type: "read", Reason: "empty key"}
	}
	if r.At.IsZero() {
		return &InvalidError{Type: "read", Reason: "missing time"}
	}
	return nil
}

// DecodeRead parses and validates a read record.
func DecodeRead(b []byte) (Read, error) {
	var r Read
	if err := decode("read", b, &r, &r.V); err != nil {
		return Read{}, err
	}
	return r, r.Validate()
}

// Marshal encodes a with the current schema version.
func (a Advice) Marshal() ([]byte, error) {
	a.V = Version
	return json.Marshal(a)
}

// Validate checks that a carries no NaN, infinity or out-of-range figure.
func (a Advice) Validate() error {
	if a.Key == "" {
		return &InvalidError{Type: "advice", Reason: "empty key"}
	}
	probabilities := []struct {
		name string
		p    float64
	}{{"pStale", a.PStale}, {"conflictRisk", a.ConflictRisk}}
	for _, f := range probabilities {
		if !(f.p >= 0 && f.p <= 1) {
			return &InvalidError{Type: "advice", Reason: f.name + " outside [0,1]"}
		}
	}
	rates := []struct {
		name string
		x    float64
	}{{"writeRate", a.WriteRate}, {"readRate", a.ReadRate}, {"expectedStaleReads", a.ExpectedStaleReads}}
	for _, f := range rates {
		if math.IsNaN(f.x) || math.IsInf(f.x, 0) || f.x < 0 {
			return &InvalidError{Type: "advice", Reason: f.name + " not a finite non-negative number"}
		}
	}
	switch a.Action {
	case ActionNone, ActionInvalidateEarly, ActionPin, ActionBatch:
	default:
		return &InvalidError{Type: "advice", Reason: "unknown action " + string(a.Action)}
	}
	return nil
}

// DecodeAdvice parses and validates an advice record.
func DecodeAdvice(b []byte) (Advice, error) {
	var a Advice
	if err := decode("advice", b, &a, &a.V); err != nil {
		return Advice{}, err
	}
	return a, a.Validate()
}

// Marshal encodes g with the current schema version.
func (g Generation) Marshal() ([]byte, error) {
	g.V = Version
	return json.Marshal(g)
}

// Validate checks the rules every generation record obeys.
func (g Generation) Validate() error {
	switch {
	case !g.Kind.Valid():
		return &InvalidError{Type: "generation", Reason: "unknown scope " + string(g.Kind)}
	case g.Value == "":
		return &InvalidError{Type: "generation", Reason: "empty scope value"}
	case g.Owner == "":
		return &InvalidError{Type: "generation", Reason: "empty owner"}
	case g.Generation == 0:
		return &InvalidError{Type: "generation", Reason: "generation 0 (generations start at 1)"}
	case g.TxID == "":
		return &InvalidError{Type: "generation", Reason: "empty txId"}
	}
	return nil
}

// DecodeGeneration parses and validates a generation record.
func DecodeGeneration(b []byte) (Generation, error) {
	var g Generation
	if err := decode("generation", b, &g, &g.V); err != nil {
		return Generation{}, err
	}
	return g, g.Validate()
}
