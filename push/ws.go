package push

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// codePeerGone marks a session whose client went away; nothing is sent.
const codePeerGone CloseCode = 0

// serveWS runs one WebSocket session: hello, subscribe, then a reader
// goroutine for client frames while this goroutine writes the queue.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	release, ok := s.admit(w, r)
	if !ok {
		return
	}
	defer release()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // admit checked Origin against the allow-list
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(int64(s.cfg.MaxFrameBytes))
	s.m.connections.WithLabelValues("ws").Inc()
	defer s.m.connections.WithLabelValues("ws").Dec()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	hctx, hcancel := context.WithTimeout(ctx, s.cfg.HelloTimeout)
	_, data, err := c.Read(hctx)
	hcancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			s.closeWS(c, closeErr(CodeHelloTimeout, "no hello in time"))
		} else {
			s.dropped(readCloseError(err))
		}
		return
	}
	f, err := ParseClientFrame(data)
	switch {
	case err != nil:
		s.closeWS(c, &CloseError{Code: CodeProtocol, Message: "bad hello", Err: err})
		return
	case f.T != TypeHello:
		s.closeWS(c, closeErr(CodeProtocol, "first frame must be hello"))
		return
	case f.V != ProtocolVersion:
		s.closeWS(c, closeErr(CodeUnsupportedVersion, "protocol version 1 only"))
		return
	}
	claims, chs, err := s.authorize(f.Token, f.Channels)
	if err != nil {
		s.closeWS(c, asCloseError(err))
		return
	}
	ss := newSession(newSessionID(), "ws", chs, s.cfg.SendBuffer, s.cfg.SlowDeadline)
	defer s.hub.unregister(ss)
	expiry := time.AfterFunc(time.Until(claims.Expiry()), func() { ss.close(closeErr(CodeTokenExpired, "token expired")) })
	defer expiry.Stop()
	go s.readWS(ctx, c, ss, expiry)
	if err := s.subscribe(ctx, ss, f.Pos, claims.Expiry()); err != nil {
		ss.close(&CloseError{Code: CodeInternal, Message: "resume failed, reconnect", Err: err})
	}
	s.writeWS(ctx, c, ss)
}

// writeWS writes queued frames until the session closes, then closes the
// connection with the session's code.
func (s *Server) writeWS(ctx context.Context, c *websocket.Conn, ss *session) {
	var spare []frame
	for {
		select {
		case <-ss.wake:
			batch := ss.take(spare)
			wctx, cancel := context.WithTimeout(ctx, s.cfg.SlowDeadline)
			for _, f := range batch {
				if err := c.Write(wctx, websocket.MessageText, f.data); err != nil {
					cancel()
					ss.close(closeErr(CodeSlowConsumer, "write did not complete in time"))
					s.dropped(ss.closeReason())
					return
				}
			}
			cancel()
			clear(batch)
			spare = batch
		case <-ss.done:
			s.closeWS(c, ss.closeReason())
			return
		}
	}
}

// readWS handles client frames after hello.
func (s *Server) readWS(ctx context.Context, c *websocket.Conn, ss *session, expiry *time.Timer) {
	rate := newBucket(s.cfg.FramesPerSecond)
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			ss.close(readCloseError(err))
			return
		}
		if !rate.allow(time.Now()) {
			ss.close(closeErr(CodeRateLimited, "too many frames per second"))
			return
		}
		f, err := ParseClientFrame(data)
		if err != nil {
			ss.close(&CloseError{Code: CodeProtocol, Message: "bad frame", Err: err})
			return
		}
		switch f.T {
		case TypePing:
			ss.enqueue(frame{t: TypePong, data: mustJSON(posFrame{T: TypePong})}, time.Now())
		case TypeRefresh:
			claims, err := s.cfg.Verifier.Verify(f.Token)
			if err == nil {
				for _, ch := range ss.channels {
					if !claims.Allows(ch) {
						err = closeErr(CodeChannelForbidden, "refreshed token does not allow channel "+ch)
						break
					}
				}
			}
			if err != nil {
				ss.close(asCloseError(err))
				return
			}
			expiry.Reset(time.Until(claims.Expiry()))
			ss.enqueue(frame{t: TypeRefreshed, data: mustJSON(refreshedFrame{T: TypeRefreshed, Exp: claims.Expiry().Unix()})}, time.Now())
		case TypeHello:
			ss.close(closeErr(CodeProtocol, "second hello"))
			return
		case TypeReceipts, TypeSpan:
			if ce := s.handleFrame(ss, f); ce != nil {
				ss.close(ce)
				return
			}
		case TypePong:
		}
	}
}

// readCloseError maps a read failure to the session's close reason.
// coder/websocket reports its read limit as a plain error after closing
// the connection with 1009 itself.
func readCloseError(err error) *CloseError {
	if strings.Contains(err.Error(), "read limited at") {
		return &CloseError{Code: CodeMessageTooBig, Message: "frame too large", Err: err}
	}
	return &CloseError{Code: codePeerGone, Message: "client gone", Err: err}
}

// closeWS sends the error frame and the close code, and counts the drop.
func (s *Server) closeWS(c *websocket.Conn, ce *CloseError) {
	s.dropped(ce)
	if ce == nil || ce.Code == codePeerGone {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	c.Write(ctx, websocket.MessageText, mustJSON(errorFrame{T: TypeError, Code: int(ce.Code), Message: ce.Message}))
	cancel()
	c.Close(websocket.StatusCode(ce.Code), ce.Message)
}

// dropped counts a server-initiated close by reason.
func (s *Server) dropped(ce *CloseError) {
	if ce != nil && ce.Code != codePeerGone {
		s.m.drops.WithLabelValues(ce.Code.String()).Inc()
	}
}

func asCloseError(err error) *CloseError {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce
	}
	return &CloseError{Code: CodeInternal, Message: "internal error", Err: err}
}
