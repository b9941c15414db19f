package push

import (
	"errors"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// codePeerGone marks a session whose client went away; nothing is sent.
const codePeerGone CloseCode = 0

// serveWS upgrades the request (gobwas/ws), reads the hello and subscribes
// the session in the request's goroutine, then hands the connection to
// the transport (transport.go), which keeps no goroutine for it while it
// is idle.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	release, ok := s.admit(w, r)
	if !ok {
		return
	}
	conn, rw, _, err := ws.HTTPUpgrader{}.Upgrade(r, w) // admit checked Origin; no compression
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		release()
		return
	}
	s.m.connections.WithLabelValues("ws").Inc()
	c := &wsConn{s: s, conn: conn, release: release, rate: newBucket(s.cfg.FramesPerSecond)}
	if rw != nil && rw.Reader.Buffered() > 0 {
		c.br = rw.Reader // the client sent frames right behind its upgrade request
	}
	if sc, ok := conn.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}

	conn.SetReadDeadline(time.Now().Add(s.cfg.HelloTimeout))
	data, err := c.readMessage(s.cfg.MaxFrameBytes)
	conn.SetReadDeadline(time.Time{})
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.endEarly(closeErr(CodeHelloTimeout, "no hello in time"))
		} else {
			c.endEarly(readCloseError(err))
		}
		return
	}
	f, err := ParseClientFrame(data)
	switch {
	case err != nil:
		c.endEarly(&CloseError{Code: CodeProtocol, Message: "bad hello", Err: err})
		return
	case f.T != TypeHello:
		c.endEarly(closeErr(CodeProtocol, "first frame must be hello"))
		return
	case f.V != ProtocolVersion:
		c.endEarly(closeErr(CodeUnsupportedVersion, "protocol version 1 only"))
		return
	}
	claims, chs, err := s.authorize(f.Token, f.Channels)
	if err != nil {
		c.endEarly(asCloseError(err))
		return
	}
	ss := newSession(newSessionID(), "ws", chs, s.cfg.SendBuffer, s.cfg.SlowDeadline)
	c.ss = ss
	c.batch = f.Batch
	// The writer counts as running until this goroutine hands over, so the
	// connection cannot end while the session is still being subscribed.
	c.writer.Store(writerRunning)
	ss.kick = c.kick
	// Meanwhile a replay longer than the queue's room is written from here.
	ss.drain = c.drain
	c.expiry = time.AfterFunc(time.Until(claims.Expiry()), func() { ss.close(closeErr(CodeTokenExpired, "token expired")) })
	if err := s.subscribe(r.Context(), ss, f.Pos, claims.Expiry()); err != nil {
		ss.close(&CloseError{Code: CodeInternal, Message: "resume failed, reconnect", Err: err})
	}
	ss.drain = nil
	c.watch()
	c.flush()
}

// clientFrame handles one client frame after hello; a non-nil result
// closes the session.
func (s *Server) clientFrame(ss *session, expiry *time.Timer, rate *bucket, data []byte) *CloseError {
	if !rate.allow(time.Now()) {
		return closeErr(CodeRateLimited, "too many frames per second")
	}
	f, err := ParseClientFrame(data)
	if err != nil {
		return &CloseError{Code: CodeProtocol, Message: "bad frame", Err: err}
	}
	switch f.T {
	case TypePing:
		ss.enqueue(frame{t: TypePong, data: mustJSON(PosFrame{T: TypePong})}, time.Now())
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
			return asCloseError(err)
		}
		expiry.Reset(time.Until(claims.Expiry()))
		ss.enqueue(frame{t: TypeRefreshed, data: mustJSON(RefreshedFrame{T: TypeRefreshed, Exp: claims.Expiry().Unix()})}, time.Now())
	case TypeHello:
		return closeErr(CodeProtocol, "second hello")
	case TypeReceipts, TypeSpan:
		return s.handleFrame(ss, f)
	case TypePong:
	}
	return nil
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
