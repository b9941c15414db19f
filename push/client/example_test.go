package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cachetsync/cachet/kafka/embedded"
	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/push/client"
	"github.com/cachetsync/cachet/record"
)

// Example subscribes to an origin channel of an in-process push server
// (on an embedded Kafka broker), receives a transition, and reconnects
// from its position: nothing is missed or repeated.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	broker, err := embedded.Start(ctx, embedded.WithPartitions(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer broker.Close()
	secret := []byte("example-secret-0123456789abcdef")
	v, _ := push.NewVerifier(secret, nil, "", "")
	srv, err := push.New(ctx, push.Config{Kafka: broker.Config("example-push"), Verifier: v})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"

	// The application serving the page mints the token.
	channels := []string{"origin:https://shop.example"}
	tok, _ := push.Minter{Secret: secret}.Mint(channels)
	conn, err := client.Dial(ctx, url, push.ClientFrame{Token: tok, Channels: channels})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("welcome, resumed:", conn.Welcome().Resumed)

	produce(ctx, broker, "https://shop.example/cart", 8)
	for {
		f, err := conn.Next(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		if tr := f.Transition; tr != nil {
			fmt.Println(tr.Key, tr.Version, tr.State)
			break
		}
	}
	pos := conn.Pos()
	conn.Close()

	// Offline: another change. Reconnecting from pos delivers it.
	produce(ctx, broker, "https://shop.example/cart", 9)
	conn, err = client.Dial(ctx, url, push.ClientFrame{Token: tok, Channels: channels, Pos: pos})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println("welcome, resumed:", conn.Welcome().Resumed)
	for {
		f, err := conn.Next(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		if tr := f.Transition; tr != nil {
			fmt.Println(tr.Key, tr.Version, tr.State)
			break
		}
	}
	// Output:
	// welcome, resumed: false
	// https://shop.example/cart 8 INVALIDATED
	// welcome, resumed: true
	// https://shop.example/cart 9 INVALIDATED
}

// produce writes one committed transition of key, as the relay does.
func produce(ctx context.Context, b *embedded.Broker, key string, version uint64) {
	v, _ := record.Transition{TxID: fmt.Sprintf("tx%d", version), Key: key, Version: version, State: record.StateInvalidated,
		Owner: "Org1MSP", Actor: "Org1MSP", Timestamp: time.Now().UTC()}.Marshal()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: record.TopicTransitions, Key: []byte(key), Value: v}).FirstErr(); err != nil {
		panic(err)
	}
}

// ExampleClient_Run keeps a subscription alive across disconnects: it
// mints a fresh token for every connection and refreshes it on a live one,
// resumes from the last position, and stops on a terminal close.
func ExampleClient_Run() {
	m := push.Minter{Secret: []byte("example-secret-0123456789abcdef"), TTL: 10 * time.Minute}
	channels := []string{"origin:https://shop.example"}
	cl, err := client.New(client.Config{
		URL:          "ws://127.0.0.1:8090/ws",
		Channels:     channels,
		Token:        func(context.Context) (string, error) { return m.Mint(channels) },
		RefreshEvery: 5 * time.Minute,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = cl.Run(context.Background(), func(f client.Frame) error {
		switch {
		case f.Transition != nil:
			fmt.Println("changed:", f.Transition.Key, f.Transition.Version)
		case f.Reset != nil:
			fmt.Println("flush what is not proven fresh:", f.Reset.Reason)
		}
		return nil
	})
	fmt.Println("stopped:", err)
}
