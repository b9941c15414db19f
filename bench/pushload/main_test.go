//go:build centrifugo

// These tests run both servers, so they need Centrifugo's binary: make
// test-pushload builds it and runs them with the centrifugo build tag.

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestMain lets the bench start this test binary as its workers.
func TestMain(m *testing.M) {
	if os.Getenv("PUSHLOAD_TEST_WORKER") == "1" {
		if err := runWorker(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString("pushload worker: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testWorker(args []string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PUSHLOAD_TEST_WORKER=1")
	return cmd
}

// binaries builds cachet from this checkout and finds the pinned
// Centrifugo (make test-pushload builds it first).
func binaries(t *testing.T) (cachet, centrifugo string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	centrifugo = filepath.Join(root, ".bin", "centrifugo")
	if _, err := os.Stat(centrifugo); err != nil {
		t.Fatalf("%v: make test-pushload builds Centrifugo first (scripts/install-centrifugo.sh)", err)
	}
	cachet = filepath.Join(t.TempDir(), "cachet")
	build := exec.Command("go", "build", "-o", cachet, "./cmd/cachet")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build cachet: %v\n%s", err, out)
	}
	return cachet, centrifugo
}

// TestBenchBothServers runs the whole bench small: both servers start
// with their generated configuration, every connection subscribes, every
// invalidation reaches every subscriber of its channel on both, and the
// report has the table and every figure line.
func TestBenchBothServers(t *testing.T) {
	cachet, centrifugo := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := runBench(ctx, []string{"--conns", "120", "--workers", "3", "--channels", "4", "--rate", "20",
		"--duration", "2s", "--drain", "30s", "--push-bin", cachet, "--centrifugo-bin", centrifugo}, &out, testWorker)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^(push|centrifugo)\s+(\d+)\s.*\s(\d+)/(\d+)\s+(\d+)$`)
	rows := row.FindAllStringSubmatch(out.String(), -1)
	if len(rows) != 2 {
		t.Fatalf("want a table row per server, got %q", rows)
	}
	for _, r := range rows {
		if r[3] != r[4] || r[4] != "1200" { // 40 invalidations, each to the 30 subscribers of its channel
			t.Errorf("%s delivered %s of %s, want 1200 of 1200", r[1], r[3], r[4])
		}
		if r[5] != "0" {
			t.Errorf("%s dropped %s connections", r[1], r[5])
		}
	}
	for _, line := range []string{"push_vs_centrifugo_deliveries_ratio", "push_vs_centrifugo_p99_ratio",
		"push_bytes_per_idle_conn", "centrifugo_bytes_per_idle_conn", "connections"} {
		m := regexp.MustCompile(`(?m)^` + line + `: ([0-9.]+)$`).FindStringSubmatch(out.String())
		if m == nil {
			t.Errorf("no %q line", line)
			continue
		}
		if v, _ := strconv.ParseFloat(m[1], 64); v <= 0 {
			t.Errorf("%s: %s, want > 0", line, m[1])
		}
	}
}

// TestMissingServerBinary: a server that cannot start fails the bench
// with the reason.
func TestMissingServerBinary(t *testing.T) {
	err := runBench(context.Background(), []string{"--targets", "push", "--push-bin", "/nonexistent/cachet", "--conns", "2", "--workers", "1"}, &bytes.Buffer{}, testWorker)
	if err == nil || !errors.Is(err, os.ErrNotExist) && !regexp.MustCompile(`no such file`).MatchString(err.Error()) {
		t.Fatalf("got %v, want the missing binary reported", err)
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	var m merged
	m.add(h.snapshot())
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := m.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.021 {
			t.Errorf("q%.2f = %s, want %s within 2%%", c.q, got, c.want)
		}
	}
	if n := m.total(); n != 1000 {
		t.Errorf("total %d, want 1000", n)
	}
}
