package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/record"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDevStartsBroker runs `cachet dev` in process and checks that the
// address it prints serves Cachet's topics, and that it stops on cancel.
func TestDevStartsBroker(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cachet(ctx, []string{"dev", "--port", "0", "--partitions", "2", "--push-listen", "", "--origin-listen", ""}, &out)
	}()
	re := regexp.MustCompile(`embedded broker on (127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(time.Minute); addr == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("no broker address printed: %q", out.String())
	}
	info, err := kafka.DescribeTopic(ctx, kafka.Config{Brokers: addr}, record.TopicTransitions)
	if err != nil || info.Partitions != 2 {
		t.Errorf("describe %s: %+v, %v; want 2 partitions", record.TopicTransitions, info, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("cachet dev: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("cachet dev did not stop on cancel")
	}
}

func TestDevServicesStopOnFailure(t *testing.T) {
	boom := errors.New("boom")
	stopped := make(chan struct{})
	services := []runningService{
		{name: "off", run: func(context.Context, devEnv) error { return errDevOff }},
		{name: "waits", run: func(ctx context.Context, _ devEnv) error { <-ctx.Done(); close(stopped); return nil }},
		{name: "fails", run: func(context.Context, devEnv) error { return boom }},
	}
	err := runDevServices(context.Background(), devEnv{Log: slog.New(slog.DiscardHandler), Out: &strings.Builder{}}, services)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "fails") {
		t.Fatalf("err = %v, want the failing service's error", err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("the other service was not stopped")
	}
}
