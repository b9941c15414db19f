package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.opentelemetry.io/otel"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/push/client"
	"github.com/cachetsync/cachet/record"
	"github.com/cachetsync/cachet/telemetry/telemetrytest"
)

// TestMain lets a test start this binary as `cachet <args>`: with
// CACHET_CHILD_ARGS set, the process runs the command instead of the tests.
func TestMain(m *testing.M) {
	if args := os.Getenv("CACHET_CHILD_ARGS"); args != "" {
		if err := cachet(context.Background(), strings.Fields(args), os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "cachet:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startPushChild runs `cachet push` as a subprocess and returns its ws URL.
func startPushChild(t *testing.T, brokers string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CACHET_CHILD_ARGS=push --brokers "+brokers+" --listen 127.0.0.1:0 --jwt-secret kill9-secret --window 8")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("cachet push (pid %d) stderr:\n%s", cmd.Process.Pid, stderr.String())
		}
	})
	re := regexp.MustCompile(`listening on http://(\S+)`)
	sc := bufio.NewScanner(out)
	addr := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, "ws://" + a + "/ws"
	case <-time.After(time.Minute):
		t.Fatal("cachet push did not start")
		return nil, ""
	}
}

// TestPushKill9 kills a `cachet push` process with SIGKILL while
// transitions are produced; the client resumes on a new process from its
// last position and receives every transition exactly once.
func TestPushKill9(t *testing.T) {
	b := testBroker(t, 3)
	p := testProducer(t, b)
	n := 0
	send := func(count int) {
		topic := record.TopicTransitions
		done := make(chan kafka.Delivery, count)
		for range count {
			n++
			key := fmt.Sprintf("https://shop.example/k/%d", n)
			v, _ := record.Transition{TxID: fmt.Sprint(n), Key: key, Version: uint64(n), State: record.StateInvalidated,
				Owner: "Org1MSP", Actor: "Org1MSP"}.Marshal()
			if err := p.Produce(&kafka.Message{Topic: topic, Partition: kafka.PartitionAny, Key: []byte(key), Value: v}, done); err != nil {
				t.Fatal(err)
			}
		}
		for range count {
			if d := <-done; d.Err != nil {
				t.Fatal(d.Err)
			}
		}
	}
	tok, _ := push.Minter{Secret: []byte("kill9-secret"), TTL: time.Hour}.Mint([]string{"origin:https://shop.example"})
	seen := map[string]int{}
	var pos string
	connect := func(url string) *websocket.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		hello, _ := json.Marshal(map[string]any{"t": "hello", "v": 1, "token": tok, "channels": []string{"origin:https://shop.example"}, "pos": pos})
		if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
			t.Fatal(err)
		}
		// Produce only once subscribed: a session without a position starts
		// at the live end of the stream.
		var w struct{ T string }
		if _, data, err := c.Read(ctx); err != nil || json.Unmarshal(data, &w) != nil || w.T != "welcome" {
			t.Fatalf("handshake: %s, %v", data, err)
		}
		return c
	}
	// receive reads until want transitions arrived in total, or the
	// connection breaks (it returns false then).
	receive := func(c *websocket.Conn, want int) bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for len(seen) < want {
			_, data, err := c.Read(ctx)
			if err != nil {
				return false
			}
			var f struct{ T, Key, Pos string }
			json.Unmarshal(data, &f)
			switch f.T {
			case "transition":
				seen[f.Key]++
				pos = f.Pos
			case "reset":
				t.Fatalf("reset after a kill: %s", data)
			}
		}
		return true
	}
	child, url := startPushChild(t, b.Addr())
	c := connect(url)
	send(50)
	if !receive(c, 50) {
		t.Fatal("connection broke before the kill")
	}
	send(50) // produced while the process dies
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	if receive(c, 1000) {
		t.Fatal("read everything from a killed process")
	}
	c.CloseNow()
	send(50)
	_, url = startPushChild(t, b.Addr())
	c = connect(url)
	defer c.CloseNow()
	send(50) // live on the new process
	if !receive(c, 200) {
		t.Fatalf("connection broke after %d transitions", len(seen))
	}
	for k, v := range seen {
		if v != 1 {
			t.Errorf("%s delivered %d times", k, v)
		}
	}
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runPushServer serves push on addr in process until the returned stop is
// called; it waits until the server listens.
func runPushServer(t *testing.T, b *embedded.Broker, addr, secret string) (stop func()) {
	t.Helper()
	v, err := push.NewVerifier([]byte(secret), nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- servePush(ctx, push.Config{Kafka: b.Config("test-push"), Verifier: v}, addr, &out) }()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "listening on"); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("push server: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("push server did not start")
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("push server: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// jsonLines returns the JSON objects printed so far.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestWatchPush: `cachet watch --push` mints its token, prints each
// transition with its latency and each advice frame, and after the server
// goes away resumes on the next one from its last position: the
// transitions produced meanwhile arrive once, with no reset.
func TestWatchPush(t *testing.T) {
	b := testBroker(t, 2)
	p := testProducer(t, b)
	produce := func(topic string, key string, value []byte) { produceRecord(t, p, topic, key, value) }
	n := 0
	transition := func(key string) {
		n++
		v, _ := record.Transition{TxID: fmt.Sprint("tx", n), Key: key, Version: uint64(n), State: record.StateInvalidated,
			Owner: "Org1MSP", Actor: "Org1MSP", Timestamp: time.Now().Add(-time.Second).UTC()}.Marshal()
		produce(record.TopicTransitions, key, v)
	}
	addr := freeAddr(t)
	stop := runPushServer(t, b, addr, "watch-secret")

	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cachet(ctx, []string{"watch", "--push", "--url", "ws://" + addr + "/ws", "--jwt-secret", "watch-secret",
			"--channels", "origin:https://shop.example", "--json"}, &out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cachet watch --push: %v", err)
		}
	}()
	frames := func(typ string) []map[string]any {
		var got []map[string]any
		for _, m := range jsonLines(t, out.String()) {
			if m["t"] == typ {
				got = append(got, m)
			}
		}
		return got
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; output:\n%s", what, out.String())
			}
		}
	}
	waitFor("welcome", func() bool { return len(frames("welcome")) == 1 })
	transition("https://shop.example/a")
	transition("https://news.example/other") // not on the channel
	transition("https://shop.example/b")
	adv, _ := record.Advice{Key: "https://shop.example/a", At: time.Now().UTC(), RecommendedMaxAge: 30, Action: record.ActionPin, Engine: "cpu"}.Marshal()
	produce(record.TopicAdvice, "https://shop.example/a", adv)
	waitFor("2 transitions and the advice", func() bool { return len(frames("transition")) == 2 && len(frames("advice")) == 1 })
	for _, f := range frames("transition") {
		if l, ok := f["latencyMs"].(float64); !ok || l < 1000 {
			t.Errorf("transition %v: latencyMs %v, want about a second", f["key"], f["latencyMs"])
		}
	}
	if a := frames("advice")[0]; a["key"] != "https://shop.example/a" || a["recommendedMaxAge"] != float64(30) {
		t.Errorf("advice %v", a)
	}

	stop() // clients are told to reconnect elsewhere (4000)
	transition("https://shop.example/c")
	transition("https://shop.example/d")
	runPushServer(t, b, addr, "watch-secret")
	waitFor("the missed transitions", func() bool { return len(frames("transition")) == 4 })
	welcomes := frames("welcome")
	if len(welcomes) != 2 || welcomes[1]["resumed"] != true {
		t.Fatalf("welcomes %v, want a resumed second one", welcomes)
	}
	transition("https://shop.example/e")
	waitFor("a live transition", func() bool { return len(frames("transition")) == 5 })
	seen := map[any]int{}
	for _, f := range frames("transition") {
		seen[f["key"]]++
	}
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if seen["https://shop.example/"+k] != 1 {
			t.Errorf("%s printed %d times", k, seen["https://shop.example/"+k])
		}
	}
	if r := frames("reset"); len(r) != 0 {
		t.Errorf("resets %v", r)
	}
}

// TestWatchPushUsage: no credentials, or no channels to subscribe, is a
// usage error; a token's concrete channels are the default.
func TestWatchPushUsage(t *testing.T) {
	for _, args := range [][]string{
		{"watch", "--push"},
		{"watch", "--push", "--jwt-secret", "s"},
		{"watch", "--push", "--jwt-secret", "s", "--channels", "shop"},
	} {
		err := cachet(context.Background(), args, io.Discard)
		if exitCode(err) != exitUsage {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	tok, _ := push.Minter{Secret: []byte("x")}.Mint([]string{"origin:https://*", "tag:catalog"})
	if got := concreteChannels(tok); !slices.Equal(got, []string{"tag:catalog"}) {
		t.Errorf("concreteChannels = %v", got)
	}
}

// TestDevRunsPush: `cachet dev` starts a push server on the embedded
// broker with the development secret, says so, and serves WebSocket
// clients holding a token signed with it.
func TestDevRunsPush(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cachet(ctx, []string{"dev", "--port", "0", "--partitions", "1", "--origin-listen", "", "--push-listen", "127.0.0.1:0"}, &out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cachet dev: %v", err)
		}
	}()
	re := regexp.MustCompile(`push: listening on http://(\S+)`)
	var addr string
	for deadline := time.Now().Add(time.Minute); addr == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no push address printed:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), `"cachet-dev-secret": WARNING, for development only`) {
		t.Errorf("no development warning:\n%s", out.String())
	}
	tok, _ := push.Minter{Secret: []byte(devPushSecret)}.Mint([]string{"origin:https://shop.example"})
	dctx, dcancel := context.WithTimeout(ctx, time.Minute)
	defer dcancel()
	c, err := client.Dial(dctx, "ws://"+addr+"/ws", push.ClientFrame{Token: tok, Channels: []string{"origin:https://shop.example"}})
	if err != nil {
		t.Fatalf("no welcome: %v", err)
	}
	c.Close()
}

// TestDevPushOff: --push-listen "" leaves the push service off.
func TestDevPushOff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cachet(ctx, []string{"dev", "--port", "0", "--partitions", "1", "--origin-listen", "", "--push-listen", ""}, &out)
	}()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "push: off"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("push not reported off:\n%s", out.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "listening") {
		t.Errorf("push listens although off:\n%s", out.String())
	}
}

// TestPushExportsSpans: `cachet push --otlp-endpoint` exports a push.fanout
// span under service cachet-push for a transition with a trace context, as
// a child of the record's span, and the frame names that span.
func TestPushExportsSpans(t *testing.T) {
	prev := otel.GetTracerProvider()
	defer otel.SetTracerProvider(prev)
	recv := telemetrytest.NewReceiver(0)
	hs := httptest.NewServer(recv)
	defer hs.Close()
	b := testBroker(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cachet(ctx, []string{"push", "--brokers", b.Addr(), "--listen", "127.0.0.1:0", "--jwt-secret", "otlp-secret",
			"--otlp-endpoint", hs.URL}, &out)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("cachet push: %v", err)
			}
		}
	}
	defer stop()
	re := regexp.MustCompile(`listening on http://(\S+)`)
	var addr string
	for deadline := time.Now().Add(time.Minute); addr == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("cachet push did not start: %s", out.String())
		}
	}
	channels := []string{"origin:https://shop.example"}
	tok, _ := push.Minter{Secret: []byte("otlp-secret")}.Mint(channels)
	dctx, dcancel := context.WithTimeout(ctx, time.Minute)
	defer dcancel()
	c, err := client.Dial(dctx, "ws://"+addr+"/ws", push.ClientFrame{Token: tok, Channels: channels})
	if err != nil {
		t.Fatalf("no welcome: %v", err)
	}
	defer c.Close()
	const trace, parent = "cccccccccccccccccccccccccccccccc", "3000000000000003"
	v, _ := record.Transition{TxID: "tx1", Key: "https://shop.example/traced", Version: 1, State: record.StateInvalidated,
		Owner: "Org1MSP", Actor: "Org1MSP", Timestamp: time.Now().UTC(), Traceparent: "00-" + trace + "-" + parent + "-01"}.Marshal()
	produceRecord(t, testProducer(t, b), record.TopicTransitions, "", v)
	var f client.Frame
	for f.Transition == nil {
		if f, err = c.Next(dctx); err != nil {
			t.Fatal(err)
		}
	}
	stop() // flushes the exporter
	spans := recv.Trace(trace)
	if len(spans) != 1 {
		t.Fatalf("%d spans of the trace exported, want 1: %+v", len(spans), recv.Spans())
	}
	s := spans[0]
	if s.Service != "cachet-push" || s.Name != "push.fanout" || s.ParentSpanID != parent || f.Transition.Traceparent != "00-"+trace+"-"+s.SpanID+"-01" {
		t.Fatalf("span %+v, frame traceparent %s", s, f.Transition.Traceparent)
	}
}

// TestWatchPushRefreshesMintedToken: with --jwt-secret the connection
// outlives its first token: a fresh one is sent as refresh before it
// expires, and no reconnect happens.
func TestWatchPushRefreshesMintedToken(t *testing.T) {
	defer func(d time.Duration) { watchPushTokenLife = d }(watchPushTokenLife)
	watchPushTokenLife = 6 * time.Second // refreshed at 4 s: 2 s of margin on a loaded machine
	b := testBroker(t, 1)
	addr := freeAddr(t)
	runPushServer(t, b, addr, "refresh-secret")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cachet(ctx, []string{"watch", "--push", "--url", "ws://" + addr + "/ws", "--jwt-secret", "refresh-secret",
			"--channels", "origin:https://shop.example", "--json"}, &out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cachet watch --push: %v", err)
		}
	}()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), `"welcome"`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no welcome: %s", out.String())
		}
	}
	time.Sleep(2 * watchPushTokenLife) // the first token expired long ago
	v, _ := record.Transition{TxID: "tx", Key: "https://shop.example/late", Version: 1, State: record.StateInvalidated,
		Owner: "Org1MSP", Actor: "Org1MSP", Timestamp: time.Now().UTC()}.Marshal()
	produceRecord(t, testProducer(t, b), record.TopicTransitions, "", v)
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "https://shop.example/late"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("transition not printed: %s", out.String())
		}
	}
	if n := strings.Count(out.String(), `"welcome"`); n != 1 {
		t.Fatalf("%d welcomes (reconnects), want 1:\n%s", n, out.String())
	}
	if strings.Contains(out.String(), `"error"`) {
		t.Fatalf("error frame: %s", out.String())
	}
}

// TestPushWaitsForKafka starts `cachet push` before its broker exists: it
// serves /healthz with 503 and the reason instead of exiting, keeps trying,
// and once a broker answers on that address it reports 200, prints its
// address and delivers a transition produced afterwards.
func TestPushWaitsForKafka(t *testing.T) {
	listen, brokers := freeAddr(t), freeAddr(t)
	_, port, _ := net.SplitHostPort(brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cachet(ctx, []string{"push", "--brokers", brokers, "--listen", listen, "--jwt-secret", "late-secret"}, &out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cachet push: %v", err)
		}
	}()
	health := func() (int, string) {
		resp, err := http.Get("http://" + listen + "/healthz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitHealth := func(want int, says string) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
			code, body := health()
			if code == want && strings.Contains(body, says) {
				return
			}
			select {
			case err := <-done:
				t.Fatalf("cachet push ended: %v\n%s", err, out.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("/healthz: %d %q, want %d saying %q", code, body, want, says)
			}
		}
	}
	waitHealth(http.StatusServiceUnavailable, "waiting for Kafka")

	var p int
	fmt.Sscan(port, &p)
	b, err := embedded.Start(ctx, embedded.WithPort(p), embedded.WithPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	waitHealth(http.StatusOK, "ok")
	if !strings.Contains(out.String(), "push: listening on http://"+listen) {
		t.Fatalf("ready without saying so: %q", out.String())
	}
	channels := []string{"origin:https://shop.example"}
	tok, _ := push.Minter{Secret: []byte("late-secret")}.Mint(channels)
	c, err := client.Dial(ctx, "ws://"+listen+"/ws", push.ClientFrame{Token: tok, Channels: channels})
	if err != nil {
		t.Fatalf("no welcome: %v", err)
	}
	defer c.Close()
	v, _ := record.Transition{TxID: "tx-late", Key: "https://shop.example/late", Version: 1, State: record.StateInvalidated,
		Owner: "Org1MSP", Actor: "Org1MSP", Timestamp: time.Now().UTC()}.Marshal()
	produceRecord(t, testProducer(t, b), record.TopicTransitions, "https://shop.example/late", v)
	for {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Transition != nil {
			if f.Transition.Key != "https://shop.example/late" || f.Transition.Version != 1 {
				t.Fatalf("delivered %+v", f.Transition)
			}
			return
		}
	}
}
