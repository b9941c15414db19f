package purgeapi_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cachetsync/cachet/gateway"
	"github.com/cachetsync/cachet/purgeapi"
)

// echoLedger answers key invalidations as if committed; a daemon uses
// purgeapi.NewGatewayLedger instead. The embedded Ledger leaves the other
// methods unimplemented.
type echoLedger struct{ purgeapi.Ledger }

func (echoLedger) InvalidateKeys(_ context.Context, keys []string, o purgeapi.SubmitOptions) (purgeapi.PurgeResult, error) {
	fmt.Printf("ledger: invalidate %v for token %t, reason %q\n", keys, o.TokenID != "", o.Reason)
	n := len(keys)
	res := purgeapi.PurgeResult{TxID: "5f0c3a1e", Block: 42, Invalidated: &n}
	for _, k := range keys {
		res.Entries = append(res.Entries, purgeapi.KeyVersion{Key: k, Version: 2, State: "INVALIDATED"})
	}
	return res, nil
}

// Start the API over a Ledger with a token store, create a scoped token
// and purge a key with it.
func ExampleServer() {
	dir, _ := os.MkdirTemp("", "purgeapi")
	defer os.RemoveAll(dir)
	tokens, err := purgeapi.OpenTokenStore(filepath.Join(dir, "tokens.json"))
	if err != nil {
		log.Fatal(err)
	}
	// `cachet api token create --scope prefix:https://shop.example/assets/ --expires 720h --rate 50/s`
	secret, _, err := tokens.Create(purgeapi.TokenSpec{
		Scopes: "prefix:https://shop.example/assets/", Expires: 720 * time.Hour, Rate: "50/s",
	}, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	srv, err := purgeapi.New(purgeapi.Config{Ledger: echoLedger{}, Tokens: tokens})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // srv.Run(ctx) listens on Config.Addr
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()

	for _, key := range []string{"HTTPS://shop.example/assets/app.js", "https://shop.example/cart"} {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/purge",
			strings.NewReader(`{"keys":["`+key+`"],"reason":"deploy"}`))
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(body))
	}
	stop() // graceful: in-flight purges finish first
	fmt.Println("stopped:", <-done)
	// Output:
	// ledger: invalidate [https://shop.example/assets/app.js] for token true, reason "deploy"
	// 200 {"txId":"5f0c3a1e","block":42,"entries":[{"key":"https://shop.example/assets/app.js","version":2,"state":"INVALIDATED"}],"invalidated":1}
	// 403 {"code":"out_of_scope","message":"token may not purge keys \"https://shop.example/cart\""}
	// stopped: <nil>
}

// A daemon holding an org's Fabric identity serves the API over the
// gateway. It needs a running network, so it has no output.
func ExampleNewGatewayLedger() {
	cfg, err := gateway.LoadProfile("org1-invalidator.json")
	if err != nil {
		log.Fatal(err)
	}
	cl, err := gateway.Connect(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	tokens, err := purgeapi.OpenTokenStore("/var/lib/cachet/tokens.json")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := purgeapi.New(purgeapi.Config{Addr: ":8088", Ledger: purgeapi.NewGatewayLedger(cl), Tokens: tokens})
	if err != nil {
		log.Fatal(err)
	}
	// Run until SIGTERM, then finish in-flight purges (Config.DrainTimeout).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
