package score

import (
	"errors"
	"fmt"
)

// ParamError reports a Params field outside its domain.
type ParamError struct{ Field, Reason string }

func (e *ParamError) Error() string { return fmt.Sprintf("score params: %s %s", e.Field, e.Reason) }

// BatchError reports a malformed batch.
type BatchError struct{ Reason string }

func (e *BatchError) Error() string { return "score batch: " + e.Reason }

// ErrNoDevice is wrapped by an *EngineError when no CUDA device exists.
var ErrNoDevice = errors.New("no CUDA device")

// ErrNotBuilt is wrapped by an *EngineError when the binary was built
// without the `cuda` tag.
var ErrNotBuilt = errors.New("built without CUDA support (go build -tags cuda)")

// EngineError reports that a scoring engine cannot run here; callers fall
// back to the CPU scorer.
type EngineError struct {
	Engine string
	Op     string // what failed: "init", "load module", "launch", ...
	Err    error
}

func (e *EngineError) Error() string { return fmt.Sprintf("%s scorer: %s: %v", e.Engine, e.Op, e.Err) }

func (e *EngineError) Unwrap() error { return e.Err }
