//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDevRelayAndWatchKafka runs `cachet dev --relay-profile` (broker and
// relay in one process) and `cachet watch --kafka`: what commits on the
// ledger is printed from Kafka, once each.
func TestDevRelayAndWatchKafka(t *testing.T) {
	ctx := ctxT(t)
	bin := cachetBinary(t)
	pub := client(t, "org1", "publisher")
	start := publishN(t, ctx, pub, "img:dv-start", 0, 1)
	prof, _ := network("profile", "org1", "auditor")
	dir := t.TempDir()
	profPath := filepath.Join(dir, "auditor.json")
	os.WriteFile(profPath, []byte(prof), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	run := func(name string, args ...string) (*exec.Cmd, func() string) {
		log := filepath.Join(dir, name+".log")
		f, err := os.Create(log)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		out := func() string { b, _ := os.ReadFile(log); return string(b) }
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			if t.Failed() {
				t.Logf("%s output:\n%s", name, tail(out(), 3000))
			}
		})
		return cmd, out
	}
	waitOut := func(out func() string, what string) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !strings.Contains(out(), what); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("never printed %q", what)
			}
		}
	}
	_, devOut := run("dev", "dev", "--port", fmt.Sprint(port), "--partitions", "2", "--relay-profile", profPath, "--relay-from", fmt.Sprint(start), "--log-level", "info")
	waitOut(devOut, "relay: leading from")
	_, watchOut := run("watch", "watch", "--kafka", "--brokers", fmt.Sprintf("127.0.0.1:%d", port), "--from-beginning")
	publishN(t, ctx, pub, "img:dv", 0, 5)
	for i := range 5 {
		waitOut(watchOut, fmt.Sprintf("img:dv-%d  v1  owner Org1MSP", i))
	}
	if n := strings.Count(watchOut(), "img:dv-"); n != 6 {
		t.Fatalf("watch printed %d transitions of this test, want 6 (the start marker and 5):\n%s", n, watchOut())
	}
}
