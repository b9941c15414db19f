package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
)

func TestReportBulkListsFailedKeys(t *testing.T) {
	gone := &gateway.Error{Code: gateway.CodeUnavailable, Message: "no peer"}
	res := gateway.BulkResult{
		Counts:       map[gateway.KeyStatus]int{gateway.KeyInvalidated: 3, gateway.KeyMissing: 1},
		Failed:       []gateway.KeyFailure{{Key: "ns:b", Err: gone}, {Key: "ns:d", Err: errors.New("boom")}},
		Transactions: 2, Elapsed: time.Second,
	}
	failedTo := filepath.Join(t.TempDir(), "failed.txt")
	var out, errOut bytes.Buffer
	err := reportBulk(&out, &errOut, false, 6, res, failedTo)
	if exitCode(err) != exitUnreachable || !strings.Contains(err.Error(), "2 of 6 keys failed; first ns:b") {
		t.Errorf("err = %v (exit %d), want the first failure's, exit %d", err, exitCode(err), exitUnreachable)
	}
	if !strings.Contains(out.String(), "3 invalidated, 1 missing, 2 failed") {
		t.Errorf("summary %q", out.String())
	}
	if !strings.Contains(errOut.String(), "failed keys (2):\n  ns:b: ") || !strings.Contains(errOut.String(), "  ns:d: boom") {
		t.Errorf("stderr %q, want the failed keys listed", errOut.String())
	}
	if b, _ := os.ReadFile(failedTo); string(b) != "ns:b\nns:d\n" {
		t.Errorf("--failed-to wrote %q", b)
	}

	out.Reset()
	errOut.Reset()
	reportBulk(&out, &errOut, true, 6, res, "")
	var summary struct{ FailedKeys []string }
	if err := json.Unmarshal(out.Bytes(), &summary); err != nil || len(summary.FailedKeys) != 2 || errOut.Len() != 0 {
		t.Errorf("--json: %q (%v), stderr %q; want the failed keys in the summary", out.String(), err, errOut.String())
	}
}

func TestProgressOnlyOnATerminal(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a file is not a terminal")
	}
	var b bytes.Buffer
	p := progressPrinter(&b)
	for i := 1; i <= 100; i++ {
		p(i, 100)
	}
	if n := strings.Count(b.String(), "\r"); n != 10 || !strings.HasSuffix(b.String(), "100/100 keys (100%)") {
		t.Errorf("%d progress updates for 100 keys, %q; want 10 ending at 100%%", n, b.String())
	}
}

func TestReadKeys(t *testing.T) {
	keys, err := readKeys("-", strings.NewReader("# keys\nHTTPS://Shop.Example/a\n\n  ns:b  \n"))
	if err != nil || len(keys) != 2 || keys[0] != "https://shop.example/a" || keys[1] != "ns:b" {
		t.Fatalf("keys %q, %v", keys, err)
	}
	_, err = readKeys("-", strings.NewReader("ns:a\nhttps://u@shop.example/\n"))
	var le *keyLineError
	if !errors.As(err, &le) || le.Line != 2 || exitCode(err) != exitUsage || !strings.Contains(err.Error(), "stdin:2: ") {
		t.Fatalf("err = %v, want line 2 named, exit 2", err)
	}
}
