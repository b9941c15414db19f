//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/push"
	pushclient "github.com/cachetsync/cachet/push/client"
	"github.com/cachetsync/cachet/telemetry/telemetrytest"
)

const chainSecret = "chain-test-secret-0123456789"

// devStack is `cachet dev` running the relay and the push server against
// the e2e network, as make demo runs them.
type devStack struct {
	brokers, push string // addresses as the stack printed them
	log           string // its combined output, for failures
}

// startDevStack starts `cachet dev` with the relay following from block
// from and the push server on a free port; spans go to otlp when set.
// extra flags come last, so they override these.
func startDevStack(t testing.TB, from uint64, otlp string, extra ...string) devStack {
	t.Helper()
	prof, err := network("profile", "org1", "auditor")
	if err != nil {
		t.Fatalf("profile: %v\n%s", err, prof)
	}
	dir := t.TempDir()
	profPath := filepath.Join(dir, "relay.json")
	os.WriteFile(profPath, []byte(prof), 0o600)
	logPath := filepath.Join(dir, "dev.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"dev", "--port", "0", "--relay-profile", profPath, "--relay-from", fmt.Sprint(from),
		"--push-listen", "127.0.0.1:0", "--push-secret", chainSecret, "--origin-listen", "",
		"--log-level", "info"} // the relay's "leading" line, awaited below, is logged at info
	if otlp != "" {
		args = append(args, "--otlp-endpoint", otlp)
	}
	args = append(args, extra...)
	cmd := exec.Command(cachetBinary(t), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("cachet dev output:\n%s", tail(string(b), 4000))
		}
	})
	brokerRE := regexp.MustCompile(`embedded broker on (127\.0\.0\.1:\d+)`)
	pushRE := regexp.MustCompile(`push: listening on http://(127\.0\.0\.1:\d+)`)
	var s devStack
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(logPath)
		s.log = string(b)
		if m := brokerRE.FindStringSubmatch(s.log); m != nil {
			s.brokers = m[1]
		}
		if m := pushRE.FindStringSubmatch(s.log); m != nil {
			s.push = m[1]
		}
		if s.brokers != "" && s.push != "" && strings.Contains(s.log, "relay: leading") {
			return s
		}
	}
	t.Fatalf("cachet dev did not come up:\n%s", tail(s.log, 4000))
	return s
}

// subscribe opens a WebSocket to the push server like a browser would and
// returns a channel of the frames it receives after welcome.
func subscribe(t *testing.T, ctx context.Context, addr string, channels ...string) <-chan pushclient.Frame {
	t.Helper()
	tok, err := push.Minter{Secret: []byte(chainSecret)}.Mint(channels)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pushclient.Dial(ctx, "ws://"+addr+"/ws", push.ClientFrame{Token: tok, Channels: channels})
	if err != nil {
		t.Fatalf("push handshake: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	frames := make(chan pushclient.Frame, 4096)
	go func() {
		defer close(frames)
		for {
			f, err := c.Next(ctx)
			if err != nil {
				return
			}
			frames <- f
		}
	}()
	return frames
}

// nextTransition waits for the transition frame of key at version.
func nextTransition(t *testing.T, frames <-chan pushclient.Frame, key string, version uint64) *pushclient.Transition {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("push connection closed before %s v%d arrived", key, version)
			}
			if e := f.Error; e != nil {
				t.Fatalf("push error frame %d: %s", e.Code, e.Message)
			}
			if tr := f.Transition; tr != nil && tr.Key == key && tr.Version == version {
				return tr
			}
		case <-timeout:
			t.Fatalf("%s v%d never arrived over WebSocket", key, version)
		}
	}
}

// TestChainInvalidationReachesWebSocket invalidates through the gateway and
// waits for each invalidation at a browser-like WebSocket client of the push
// server, with the relay and push running as `cachet dev` runs them. Every
// invalidation arrives once, at its committed version, and one trace holds
// the submit's spans, the relay's and the push server's. It logs the
// latency after commit and from submit.
func TestChainInvalidationReachesWebSocket(t *testing.T) {
	const n = 30
	ctx := ctxT(t)
	tr := startTracing(t)
	tp, mem, recv := tr.tp, tr.mem, tr.recv

	pub, inv := client(t, "org1", "publisher"), client(t, "org1", "invalidator")
	const site = "https://chain.example"
	keys := make([]string, n)
	var last gateway.Committed
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/p/%d", site, i)
		var err error
		if _, last, err = pub.Publish(ctx, gateway.PublishRequest{Key: keys[i], Tags: []string{"chain"}}); err != nil {
			t.Fatal(err)
		}
	}
	stack := startDevStack(t, last.Block+1, tr.otlp)
	frames := subscribe(t, ctx, stack.push, "origin:"+site)

	var afterCommit, fromSubmit []time.Duration
	var traceID, frameTraceparent string
	for _, key := range keys {
		sctx, span := tp.Tracer("e2e").Start(ctx, "operator invalidates")
		start := time.Now()
		e, _, err := inv.Invalidate(sctx, key, "chain test", 0)
		committed := time.Now()
		span.End()
		if err != nil {
			t.Fatal(err)
		}
		f := nextTransition(t, frames, key, e.Version)
		arrived := time.Now()
		if f.State != "INVALIDATED" {
			t.Errorf("%s v%d arrived as %s", key, e.Version, f.State)
		}
		afterCommit = append(afterCommit, arrived.Sub(committed))
		fromSubmit = append(fromSubmit, arrived.Sub(start))
		traceID, frameTraceparent = span.SpanContext().TraceID().String(), f.Traceparent
	}
	slices.Sort(afterCommit)
	slices.Sort(fromSubmit)
	t.Logf("%d invalidations reached the WebSocket client: submit→frame p50 %v max %v; commit→frame p50 %v max %v",
		n, fromSubmit[n/2], fromSubmit[n-1], afterCommit[n/2], afterCommit[n-1])

	// Nothing else, and nothing twice, on the client's channel.
	select {
	case f := <-frames:
		if tr := f.Transition; tr != nil {
			t.Errorf("unexpected extra transition %s v%d", tr.Key, tr.Version)
		}
	case <-time.After(time.Second):
	}

	// One trace: operator span → gateway spans → relay.transition → push.fanout,
	// and the frame's traceparent names the push span.
	gatewaySpans := map[string]bool{}
	for _, s := range mem.GetSpans() {
		if s.SpanContext.TraceID().String() == traceID {
			gatewaySpans[s.SpanContext.SpanID().String()] = true
		}
	}
	var relaySpan, pushSpan telemetrytest.Span
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && pushSpan.Name == ""; time.Sleep(200 * time.Millisecond) {
		for _, s := range recv.Trace(traceID) {
			switch s.Name {
			case "relay.transition":
				relaySpan = s
			case "push.fanout":
				pushSpan = s
			}
		}
	}
	switch {
	case relaySpan.Name == "" || pushSpan.Name == "":
		t.Fatalf("trace %s: relay span %q, push span %q; received %d spans in all", traceID, relaySpan.Name, pushSpan.Name, len(recv.Spans()))
	case !gatewaySpans[relaySpan.ParentSpanID]:
		t.Errorf("relay span's parent %s is not one of the submit's spans %v", relaySpan.ParentSpanID, gatewaySpans)
	case pushSpan.ParentSpanID != relaySpan.SpanID:
		t.Errorf("push span's parent %s, want the relay span %s", pushSpan.ParentSpanID, relaySpan.SpanID)
	case !strings.Contains(frameTraceparent, traceID+"-"+pushSpan.SpanID):
		t.Errorf("frame traceparent %q does not name the push span %s", frameTraceparent, pushSpan.SpanID)
	}
}
