package push

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// framesOf returns n frames of size bytes each, numbered in their text.
func framesOf(n, size int) []frame {
	out := make([]frame, n)
	for i := range out {
		head := fmt.Sprintf(`{"n":%d,"pad":"`, i)
		out[i] = frame{t: TypeTransition, data: []byte(head + strings.Repeat("x", size-len(head)-2) + `"}`)}
	}
	return out
}

// TestWriteFramesBounds writes frames as one flush does and reads the
// WebSocket messages off a real socket: with batches the frames are merged
// in order, one per line, up to maxBatchFrames and maxBatchBytes per
// message, a frame over the byte bound goes alone; without, each frame is
// a message of its own.
func TestWriteFramesBounds(t *testing.T) {
	big := framesOf(1, maxBatchBytes+5000)[0]
	for _, tc := range []struct {
		name   string
		batch  bool
		frames []frame
		want   []int // frames per message
	}{
		{"one frame", true, framesOf(1, 300), []int{1}},
		{"count bound", true, framesOf(maxBatchFrames+44, 100), []int{maxBatchFrames, 44}},
		{"byte bound", true, framesOf(5, 30000), []int{2, 2, 1}},
		{"at the byte bound", true, append(framesOf(1, maxBatchBytes/2-1), framesOf(1, maxBatchBytes/2)...), []int{2}},
		{"one byte over", true, framesOf(2, maxBatchBytes/2), []int{1, 1}},
		{"a frame over the bound goes alone", true, append(append(framesOf(2, 100), big), framesOf(2, 100)...), []int{2, 1, 2}},
		{"without batches", false, framesOf(300, 100), func() []int {
			w := make([]int, 300)
			for i := range w {
				w[i] = 1
			}
			return w
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srvEnd, cliEnd := tcpPair(t)
			c := &wsConn{s: &Server{cfg: Config{SlowDeadline: 10 * time.Second}}, conn: srvEnd, batch: tc.batch}
			werr := make(chan error, 1)
			go func() { werr <- c.writeFrames(tc.frames) }()

			rw := bufio.NewReadWriter(bufio.NewReader(cliEnd), bufio.NewWriter(cliEnd))
			var got []int
			var lines [][]byte
			for n := 0; n < len(tc.frames); {
				cliEnd.SetReadDeadline(time.Now().Add(10 * time.Second))
				msg, op, err := wsutil.ReadServerData(rw)
				if err != nil {
					t.Fatalf("after %d frames: %v", n, err)
				}
				if op != ws.OpText {
					t.Fatalf("opcode %v, want text", op)
				}
				ls := bytes.Split(msg, []byte("\n"))
				got = append(got, len(ls))
				lines = append(lines, ls...)
				n += len(ls)
			}
			if err := <-werr; err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("frames per message %v, want %v", got, tc.want)
			}
			for i, f := range tc.frames {
				if !bytes.Equal(lines[i], f.data) {
					t.Fatalf("line %d is %.60q, want frame %d %.60q", i, lines[i], i, f.data)
				}
			}
		})
	}
}
