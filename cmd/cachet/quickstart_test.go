package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// quickStart is the README's "Quick start without Fabric": its sh blocks
// (commands) and the plain blocks after them (what they print).
type quickStart struct {
	sh, out []string
}

// readQuickStart parses the quick start section out of README.md.
func readQuickStart(t *testing.T) quickStart {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "## Quick start without Fabric")
	if start < 0 {
		t.Fatal(`README.md has no "## Quick start without Fabric" section`)
	}
	s = s[start:]
	if end := strings.Index(s[3:], "\n## "); end >= 0 {
		s = s[:end+3]
	}
	var q quickStart
	for _, m := range regexp.MustCompile("(?s)```(sh)?\n(.*?)```").FindAllStringSubmatch(s, -1) {
		if m[1] == "sh" {
			q.sh = append(q.sh, m[2])
		} else {
			q.out = append(q.out, m[2])
		}
	}
	if len(q.sh) != 4 {
		t.Fatalf("README quick start: want 4 sh blocks (build and dev; watch --push; produce; watch --kafka and analytics top), got %d", len(q.sh))
	}
	return q
}

// The README's quick start, run as written: only the ports (free ones,
// so a running `cachet dev` is left alone) and where .bin/cachet is built
// are changed.
func TestReadmeQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: this test builds cachet and runs cachet dev for about a minute; make test runs it")
	}
	q := readQuickStart(t)
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addrs := distinctFreeAddrs(t, 3)
	brokerPort := strings.TrimPrefix(addrs[0], "127.0.0.1:")
	pushAddr, originAddr := addrs[1], addrs[2]
	subst := strings.NewReplacer(
		".bin/cachet", filepath.Join(dir, ".bin", "cachet"),
		"127.0.0.1:9092", "127.0.0.1:"+brokerPort,
	)
	env := append(os.Environ(), "CACHET_PUSH_URL=ws://"+pushAddr+"/ws")

	// First terminal: build, then cachet dev on the free ports.
	lines := strings.Split(strings.TrimSpace(q.sh[0]), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "go build ") || lines[1] != ".bin/cachet dev" {
		t.Fatalf("README quick start's first block changed: %q", q.sh[0])
	}
	if out, err := shell(repo, env, subst.Replace(lines[0])).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", lines[0], err, out)
	}
	dev := subst.Replace(lines[1]) + " --port " + brokerPort + " --push-listen " + pushAddr + " --origin-listen " + originAddr
	devOut := startShell(t, dir, env, dev)
	waitFor(t, devOut, "push: listening on http://"+pushAddr, 60*time.Second)

	// Second terminal: watch --push.
	watchOut := startShell(t, dir, env, subst.Replace(q.sh[1]))
	waitFor(t, watchOut, "welcome ", 20*time.Second)

	// Third terminal: produce two transitions.
	out, err := shell(dir, env, subst.Replace(q.sh[2])).CombinedOutput()
	if err != nil {
		t.Fatalf("README produce block: %v\n%s", err, out)
	}
	if len(q.out) < 2 || string(out) != q.out[1] {
		t.Errorf("cachet produce printed %q; the README shows %q", out, q.out[1])
	}

	// The second terminal shows both transitions, then advice for both keys.
	for _, re := range []string{
		`transition +https://shop\.example/cart +v2 INVALIDATED +latency `,
		`transition +https://shop\.example/p/42 +v1 VALID +latency `,
		`advice +https://shop\.example/cart +\S+ +max-age `,
		`advice +https://shop\.example/p/42 +\S+ +max-age `,
	} {
		waitForRE(t, watchOut, re, 20*time.Second)
	}

	// What Kafka holds, and analytics' riskiest keys, in the third
	// terminal (its exports hold).
	var exports []string
	for _, l := range strings.Split(q.sh[2], "\n") {
		if strings.HasPrefix(l, "export ") {
			exports = append(exports, subst.Replace(l))
		}
	}
	third := strings.Join(exports, "\n") + "\n"
	kafkaLines := strings.Split(strings.TrimSpace(q.sh[3]), "\n")
	if len(kafkaLines) != 2 {
		t.Fatalf("README quick start's last block changed: %q", q.sh[3])
	}
	kafkaOut := startShell(t, dir, env, third+subst.Replace(kafkaLines[0]))
	for _, re := range []string{
		`\d+:0 +VALID +https://shop\.example/p/42 +v1 +owner Org1MSP +by Org1MSP`,
		`\d+:0 +INVALIDATED +https://shop\.example/cart +v2 +owner Org1MSP +by Org2MSP +price change`,
	} {
		waitForRE(t, kafkaOut, re, 20*time.Second)
	}
	top, err := shell(dir, env, third+subst.Replace(kafkaLines[1])).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", kafkaLines[1], err, top)
	}
	for _, key := range []string{"https://shop.example/cart", "https://shop.example/p/42"} {
		if !strings.Contains(string(top), key) {
			t.Errorf("analytics top does not list %s:\n%s", key, top)
		}
	}
}

// distinctFreeAddrs returns n free 127.0.0.1 addresses, all different:
// each stays bound until all are chosen.
func distinctFreeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}

// shell is the command line run by bash in dir, as a user's terminal would.
func shell(dir string, env []string, script string) *exec.Cmd {
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// startShell runs script in the background until the test ends (its
// whole process group is killed), its output collected.
func startShell(t *testing.T, dir string, env []string, script string) *syncBuffer {
	t.Helper()
	var out syncBuffer
	cmd := shell(dir, env, script)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s:\n%s", script, out.String())
		}
	})
	return &out
}

func waitFor(t *testing.T, out *syncBuffer, s string, d time.Duration) {
	t.Helper()
	waitForRE(t, out, regexp.QuoteMeta(s), d)
}

func waitForRE(t *testing.T, out *syncBuffer, re string, d time.Duration) {
	t.Helper()
	r := regexp.MustCompile(re)
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if r.MatchString(out.String()) {
			return
		}
	}
	t.Fatalf("no line matching %q within %s", re, d)
}
