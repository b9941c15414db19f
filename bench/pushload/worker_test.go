package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// TestWorkerCountsMergedFrames: a push client asks for batched frames
// only when told to, and counts every delivery of a merged frame,
// including those that share the welcome's frame.
func TestWorkerCountsMergedFrames(t *testing.T) {
	delivery := func(key string) string {
		return `{"t":"transition","pos":"p1","key":"` + key + `","ts":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`
	}
	for _, batch := range []bool{true, false} {
		hellos := make(chan []byte, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, _, err := ws.UpgradeHTTP(r, w)
			if err != nil {
				return
			}
			defer conn.Close()
			hello, _, err := wsutil.ReadClientData(conn)
			if err != nil {
				return
			}
			hellos <- hello
			wsutil.WriteServerText(conn, []byte(`{"t":"welcome","v":1}`+"\n"+delivery("a")+"\n"+delivery("b")))
			wsutil.WriteServerText(conn, []byte(delivery("c")+"\n"+delivery("d")+"\n"+`{"t":"ping","pos":"p1"}`+"\n"+delivery("e")))
			wsutil.WriteServerText(conn, []byte(delivery("f")))
			// Hold the connection until the client goes.
			wsutil.ReadClientData(conn)
		}))
		proto, err := protocolFor("push", "secret", batch)
		if err != nil {
			t.Fatal(err)
		}
		w := &worker{proto: proto}
		ctx, cancel := context.WithCancel(context.Background())
		url := "ws" + strings.TrimPrefix(srv.URL, "http")
		if err := w.open(ctx, ws.Dialer{}, url, &client{channels: []string{channelName(0)}}, func() {}); err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(<-hellos, []byte(`"batch":true`)); got != batch {
			t.Errorf("batch %v: hello asks for batches: %v", batch, got)
		}
		deadline := time.Now().Add(30 * time.Second)
		for w.received.Load() < 6 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n, f := w.received.Load(), w.frames.Load(); n != 6 || f != 3 {
			t.Errorf("batch %v: counted %d deliveries in %d frames, want 6 in 3", batch, n, f)
		}
		cancel()
		w.closeAll()
		srv.Close()
	}
}
