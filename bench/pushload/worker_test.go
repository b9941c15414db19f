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

// TestWorkerCheck: check compares every connection's count with what its
// channel should have had, and adds up the missing and the extra.
func TestWorkerCheck(t *testing.T) {
	tests := []struct {
		name   string
		counts map[int][]int64 // channel index → each connection's count
		exp    []int64
		want   checkReport
	}{
		{"exact", map[int][]int64{0: {3, 3}, 1: {5}}, []int64{3, 5}, checkReport{Min: 3}},
		{"one short", map[int][]int64{0: {3, 1}, 1: {5}}, []int64{3, 5}, checkReport{Short: 1, Lost: 2, Min: 1}},
		{"one over", map[int][]int64{0: {3, 3}, 1: {6}}, []int64{3, 5}, checkReport{Over: 1, Dup: 1, Min: 3}},
		{"channel beyond exp expects none", map[int][]int64{0: {0}, 2: {1}}, []int64{0}, checkReport{Over: 1, Dup: 1, Min: 0}},
		{"short and over", map[int][]int64{0: {0, 4}}, []int64{2}, checkReport{Short: 1, Lost: 2, Over: 1, Dup: 2, Min: 0}},
	}
	for _, tc := range tests {
		w := &worker{}
		for ch, ns := range tc.counts {
			for _, n := range ns {
				c := &client{ch: ch}
				c.n.Store(n)
				w.clients = append(w.clients, c)
			}
		}
		if got := *w.check(tc.exp); got != tc.want {
			t.Errorf("%s: check = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
