//go:build cuda

package score

import (
	"context"
	"errors"
	"testing"
)

// TestCUDAGoldenVectors checks the CUDA scorer against the same golden file
// as the CPU scorer. Without a device it checks that the failure is the
// typed no-device error, never a crash.
func TestCUDAGoldenVectors(t *testing.T) {
	s, err := NewCUDA()
	if err != nil {
		var ee *EngineError
		if !errors.As(err, &ee) || !errors.Is(err, ErrNoDevice) {
			t.Fatalf("NewCUDA: %v (%T), want *EngineError wrapping ErrNoDevice", err, err)
		}
		t.Logf("no CUDA device: %v", err)
		return
	}
	defer s.Close()
	g := loadGolden(t)
	b := batchOf(g)
	if err := s.Score(context.Background(), g.Params, b); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, g, b)
}
