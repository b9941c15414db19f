//go:build !cuda

package score

// NewCUDA reports that this binary has no CUDA scorer: build with -tags cuda.
func NewCUDA() (Scorer, error) {
	return nil, &EngineError{Engine: "cuda", Op: "init", Err: ErrNotBuilt}
}
