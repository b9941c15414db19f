package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cachetsync/cachet/bench/netem"
)

// TestRoute: a connection is routed by the data center of the process that
// dialled it, found through its PID file; this test's process plays the
// node "self".
func TestRoute(t *testing.T) {
	for _, tc := range []struct {
		name     string
		selfDC   string // "" : no PID file for self, an outside process
		target   string
		cut      string
		wantLink string // "" : straight through
		works    bool
	}{
		{name: "between data centers", selfDC: "dc1", target: "orderer1", wantLink: "dc1-dc2", works: true},
		{name: "inside a data center", selfDC: "dc2", target: "orderer1", works: true},
		{name: "outside process", selfDC: "", target: "orderer1", works: true},
		{name: "target's data center cut", selfDC: "dc1", target: "orderer1", cut: "dc2", wantLink: "dc1-dc2"},
		{name: "own data center cut", selfDC: "dc1", target: "orderer2", cut: "dc1", wantLink: "dc1-dc3"},
		{name: "a third data center cut", selfDC: "dc1", target: "orderer1", cut: "dc3", wantLink: "dc1-dc2", works: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pids := t.TempDir()
			dcs := map[string][]string{"dc1": {"orderer0"}, "dc2": {"orderer1"}, "dc3": {"orderer2"}}
			if tc.selfDC != "" {
				dcs[tc.selfDC] = append(dcs[tc.selfDC], "self")
				if err := os.WriteFile(filepath.Join(pids, "self.pid"), []byte(fmt.Sprint(os.Getpid())), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			w, err := newWorld(Config{PidDir: pids, DCs: dcs}, 0, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(w.handler())
			defer srv.Close()
			if tc.cut != "" {
				resp, err := http.Post(srv.URL+"/cut?dc="+tc.cut, "", nil)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("cut: %v %v", resp, err)
				}
			}
			target, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer target.Close()
			go func() {
				for {
					c, err := target.Accept()
					if err != nil {
						return
					}
					c.Write([]byte("hello"))
					c.Close()
				}
			}()
			routed := make(chan *netem.Link, 1)
			route := w.route(tc.target, "test")
			p, err := netem.Listen("127.0.0.1:0", target.Addr().String(), func(c net.Conn) *netem.Link { l := route(c); routed <- l; return l })
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", p.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(c)
			if works := string(b) == "hello"; works != tc.works {
				t.Errorf("connection answered %q, want it to work: %v", b, tc.works)
			}
			var want *netem.Link
			if tc.wantLink != "" {
				want = w.links[[2]string{tc.wantLink[:3], tc.wantLink[4:]}]
			}
			if got := <-routed; got != want {
				t.Errorf("routed on %p, want link %q (%p)", got, tc.wantLink, want)
			}
		})
	}
}
