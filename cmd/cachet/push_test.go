package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cachetsync/cachet/kafka"
	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/record"
)

// TestMain lets a test start this binary as `cachet <args>`: with
// CACHET_CHILD_ARGS set, the process runs the command instead of the tests.
func TestMain(m *testing.M) {
	if args := os.Getenv("CACHET_CHILD_ARGS"); args != "" {
		if err := dispatch(context.Background(), strings.Fields(args), os.Stdout); err != nil {
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
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
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
	b, err := kafka.StartEmbedded(context.Background(), kafka.WithPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := kafka.NewProducer(b.Config("test"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	n := 0
	send := func(count int) {
		topic := record.TopicTransitions
		done := make(chan ckafka.Event, count)
		for range count {
			n++
			key := fmt.Sprintf("https://shop.example/k/%d", n)
			v, _ := record.Transition{TxID: fmt.Sprint(n), Key: key, Version: uint64(n), State: record.StateInvalidated,
				Owner: "Org1MSP", Actor: "Org1MSP"}.Marshal()
			if err := p.Produce(&ckafka.Message{TopicPartition: ckafka.TopicPartition{Topic: &topic, Partition: ckafka.PartitionAny},
				Key: []byte(key), Value: v}, done); err != nil {
				t.Fatal(err)
			}
		}
		for range count {
			if m := (<-done).(*ckafka.Message); m.TopicPartition.Error != nil {
				t.Fatal(m.TopicPartition.Error)
			}
		}
	}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, &push.Claims{Channels: []string{"origin:https://shop.example"},
		RegisteredClaims: jwt.RegisteredClaims{Audience: jwt.ClaimStrings{push.DefaultAudience},
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).SignedString([]byte("kill9-secret"))
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
