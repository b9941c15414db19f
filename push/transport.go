package push

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// wsConn is one WebSocket connection once its hello was read. It has no
// goroutine while idle: the poller starts read when the client sent
// something, and the session's kick starts flush when frames are queued or
// the session ends. That keeps an idle connection to its session, a few
// small structs and the kernel's socket buffers (push/README.md, "WebSocket
// library").
type wsConn struct {
	s       *Server
	conn    net.Conn
	raw     syscall.RawConn // nil: the connection has no descriptor to poll
	ss      *session
	expiry  *time.Timer
	rate    *bucket
	release func()
	// br holds bytes the HTTP server read past the upgrade; nil once drained.
	br *bufio.Reader

	batch bool // the hello asked for batched frames: merge queued messages

	wmu        sync.Mutex   // one writer at a time: flush, control replies
	writer     atomic.Int32 // writerIdle, writerRunning, writerAgain, writerDone
	spare      []frame
	peerClosed atomic.Bool // the client sent a close frame

	pmu    sync.Mutex // poller registration
	pollID uint64     // 0: not registered
	ended  bool
}

const (
	writerIdle int32 = iota
	writerRunning
	writerAgain
	writerDone
)

// kick runs flush unless it is running, in which case it makes it look
// at the queue again before it stops.
func (c *wsConn) kick() {
	for {
		switch c.writer.Load() {
		case writerIdle:
			if c.writer.CompareAndSwap(writerIdle, writerRunning) {
				go c.flush()
				return
			}
		case writerRunning:
			if c.writer.CompareAndSwap(writerRunning, writerAgain) {
				return
			}
		default:
			return
		}
	}
}

// flush writes queued frames until the queue is empty, or ends the
// connection once the session is closed.
func (c *wsConn) flush() {
	for {
		if c.ss.closeReason() != nil {
			c.writer.Store(writerDone)
			c.end()
			return
		}
		// take hands c.spare's storage to the session: keep what it returns.
		batch := c.ss.take(c.spare)
		c.spare = batch[:0]
		if len(batch) > 0 {
			if err := c.writeFrames(batch); err != nil {
				c.ss.close(closeErr(CodeSlowConsumer, "write did not complete in time"))
			}
			clear(batch)
			continue
		}
		if c.writer.CompareAndSwap(writerRunning, writerIdle) {
			return
		}
		c.writer.Store(writerRunning) // kicked meanwhile: look again
	}
}

// drain writes what is queued, for the goroutine that holds the writer
// while it subscribes the session (session.drain).
func (c *wsConn) drain() error {
	batch := c.ss.take(c.spare)
	c.spare = batch[:0]
	if len(batch) == 0 {
		return nil
	}
	err := c.writeFrames(batch)
	clear(batch)
	return err
}

// writeBufs is the scratch space of one flush.
type writeBufs struct {
	hdrs []byte
	bufs net.Buffers
}

var writeBufPool = sync.Pool{New: func() any { return new(writeBufs) }}

// Bounds of one merged WebSocket message (PROTOCOL.md, "Batched frames"):
// a frame merges only what was already queued when the writer ran, so a
// connection that keeps up still gets one message per frame.
const (
	maxBatchBytes  = 64 << 10
	maxBatchFrames = 256
)

// newline separates the messages of a merged frame.
var newline = []byte{'\n'}

// writeFrames writes every frame in one writev: each as a text message
// of its own, or, when the client asked for batches, as few text messages
// as the bounds allow with one frame per line. The frames' bytes are
// shared with other sessions and are written, not copied.
func (c *wsConn) writeFrames(batch []frame) error {
	wb := writeBufPool.Get().(*writeBufs)
	defer writeBufPool.Put(wb)
	if need := ws.MaxHeaderSize * len(batch); cap(wb.hdrs) < need {
		wb.hdrs = make([]byte, 0, need)
	}
	hdrs, bufs := wb.hdrs[:0], wb.bufs[:0]
	for i := 0; i < len(batch); {
		j, n := i+1, len(batch[i].data)
		for c.batch && j < len(batch) && j-i < maxBatchFrames && n+1+len(batch[j].data) <= maxBatchBytes {
			n += 1 + len(batch[j].data)
			j++
		}
		start := len(hdrs)
		hdrs = appendHeader(hdrs, ws.OpText, n)
		bufs = append(bufs, hdrs[start:len(hdrs):len(hdrs)], batch[i].data)
		for _, f := range batch[i+1 : j] {
			bufs = append(bufs, newline, f.data)
		}
		i = j
	}
	wb.hdrs = hdrs
	wb.bufs = bufs
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(c.s.cfg.SlowDeadline))
	_, err := bufs.WriteTo(c.conn)
	clear(wb.bufs[:cap(wb.bufs)])
	return err
}

// writeFrame writes one frame on its own.
func (c *wsConn) writeFrame(op ws.OpCode, payload []byte, timeout time.Duration) error {
	b := appendHeader(make([]byte, 0, ws.MaxHeaderSize+len(payload)), op, len(payload))
	b = append(b, payload...)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.conn.Write(b)
	return err
}

// appendHeader appends an unmasked, final frame header (RFC 6455, 5.2).
func appendHeader(b []byte, op ws.OpCode, n int) []byte {
	b = append(b, 0x80|byte(op))
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

// end closes the connection with the session's close reason and frees
// everything the connection held. flush calls it once.
func (c *wsConn) end() {
	c.pmu.Lock()
	c.ended = true
	if c.pollID != 0 {
		wsPoller.remove(c)
	}
	c.pmu.Unlock()
	c.closeWith(c.ss.closeReason())
	c.s.hub.unregister(c.ss)
	if c.expiry != nil {
		c.expiry.Stop()
	}
	c.s.m.connections.WithLabelValues("ws").Dec()
	c.release()
}

// endEarly ends a connection refused before it had a session.
func (c *wsConn) endEarly(ce *CloseError) {
	c.closeWith(ce)
	c.s.m.connections.WithLabelValues("ws").Dec()
	c.release()
}

// closeWith sends the error frame and the close code (none when the
// client is gone), closes the socket and counts the drop.
func (c *wsConn) closeWith(ce *CloseError) {
	c.s.dropped(ce)
	switch {
	case ce.Code != codePeerGone:
		c.writeFrame(ws.OpText, mustJSON(ErrorFrame{T: TypeError, Code: int(ce.Code), Message: ce.Message}), time.Second)
		reason := ce.Message
		if len(reason) > 123 { // a close frame's payload is at most 125 bytes
			reason = reason[:123]
		}
		c.writeFrame(ws.OpClose, ws.NewCloseFrameBody(ws.StatusCode(ce.Code), reason), time.Second)
		lingerClose(c.conn)
	case c.peerClosed.Load():
		c.writeFrame(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""), time.Second)
		c.conn.Close()
	default:
		c.conn.Close()
	}
}

// lingerClose half-closes conn and reads what the client still sends for
// a moment before closing: closing a socket with unread input resets the
// connection, and the reset can destroy the close frame in flight.
func lingerClose(conn net.Conn) {
	if tc, ok := conn.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, io.LimitReader(conn, 1<<20))
	}
	conn.Close()
}

// errPeerClose reports a close frame from the client.
var errPeerClose = errors.New("client sent a close frame")

// readMessage reads one data message, answering pings on the way. A
// message over limit bytes or a frame breaking RFC 6455 is a *CloseError.
func (c *wsConn) readMessage(limit int) ([]byte, error) {
	var msg []byte
	fragmented := false
	for {
		var r io.Reader = c.conn
		if c.br != nil {
			r = c.br
		}
		h, err := ws.ReadHeader(r)
		if err != nil {
			return nil, err
		}
		switch {
		case !h.Masked || h.Rsv != 0:
			return nil, closeErr(CodeProtocol, "unmasked frame or reserved bits set")
		case h.OpCode.IsControl() && (!h.Fin || h.Length > 125):
			return nil, closeErr(CodeProtocol, "fragmented or long control frame")
		case (h.OpCode == ws.OpText || h.OpCode == ws.OpBinary) && fragmented, h.OpCode == ws.OpContinuation && !fragmented:
			return nil, closeErr(CodeProtocol, "bad fragmentation")
		case h.OpCode.IsReserved():
			return nil, closeErr(CodeProtocol, fmt.Sprintf("reserved opcode %d", h.OpCode))
		case !h.OpCode.IsControl() && int64(len(msg))+h.Length > int64(limit):
			return nil, closeErr(CodeMessageTooBig, "frame too large")
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(r, payload); err != nil {
			return nil, err
		}
		ws.Cipher(payload, h.Mask, 0)
		switch h.OpCode {
		case ws.OpPing:
			c.writeFrame(ws.OpPong, payload, c.s.cfg.SlowDeadline)
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			c.peerClosed.Store(true)
			return nil, errPeerClose
		}
		msg = append(msg, payload...)
		if h.Fin {
			if c.br != nil && c.br.Buffered() == 0 {
				c.br = nil // the upgrade's buffer is drained: read the socket directly
			}
			return msg, nil
		}
		fragmented = true
	}
}

// readCloseError maps a read failure to the session's close reason.
func readCloseError(err error) *CloseError {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce
	}
	return &CloseError{Code: codePeerGone, Message: "client gone", Err: err}
}

// readable handles what the client sent: every complete message, then it
// waits for the next (through the poller, or blocked in a read where
// there is none).
func (c *wsConn) readable() {
	for {
		// Readiness means a frame has begun; a client that stops in the
		// middle of one is cut off.
		c.conn.SetReadDeadline(time.Now().Add(c.s.cfg.HelloTimeout))
		msg, err := c.readMessage(c.s.cfg.MaxFrameBytes)
		if err != nil {
			c.ss.close(readCloseError(err))
			return
		}
		if ce := c.s.clientFrame(c.ss, c.expiry, c.rate, msg); ce != nil {
			c.ss.close(ce)
			return
		}
		if c.br != nil {
			continue // more frames in the upgrade's buffer
		}
		c.conn.SetReadDeadline(time.Time{})
		if c.raw != nil && wsPoller.arm(c) {
			return
		}
		c.raw = nil
		if err := c.peek(); err != nil {
			c.ss.close(readCloseError(err))
			return
		}
	}
}

// peek blocks until the client sends something, for connections read
// without the poller, and keeps what it read for readMessage.
func (c *wsConn) peek() error {
	br := bufio.NewReaderSize(c.conn, 16)
	if _, err := br.Peek(1); err != nil {
		return err
	}
	c.br = br
	return nil
}

// watch starts reading the client's frames after the hello.
func (c *wsConn) watch() {
	if c.br == nil && c.raw != nil && wsPoller.arm(c) {
		return
	}
	go func() {
		if c.br == nil {
			c.raw = nil
			if err := c.peek(); err != nil {
				c.ss.close(readCloseError(err))
				return
			}
		}
		c.readable()
	}()
}
