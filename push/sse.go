package push

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"time"
)

// serveSSE runs one Server-Sent Events session (PROTOCOL.md, "Server-Sent
// Events"): same token, channels and positions as WebSocket.
func (s *Server) serveSSE(w http.ResponseWriter, r *http.Request) {
	release, ok := s.admit(w, r)
	if !ok {
		return
	}
	defer release()
	q := r.URL.Query()
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = q.Get("token")
	}
	var channels []string
	if c := q.Get("channels"); c != "" {
		channels = strings.Split(c, ",")
	}
	pos := r.Header.Get("Last-Event-ID")
	if pos == "" {
		pos = q.Get("pos")
	}
	s.cors(w, r) // admit refused a foreign Origin; this echoes an allowed one
	claims, chs, err := s.authorize(token, channels)
	if err != nil {
		ce := asCloseError(err)
		s.dropped(ce)
		writeHTTPError(w, httpStatus(ce), ce)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString("retry: 1000\n\n")
	s.m.connections.WithLabelValues("sse").Inc()
	defer s.m.connections.WithLabelValues("sse").Dec()

	ctx := r.Context()
	ss := newSession(newSessionID(), "sse", chs, s.cfg.SendBuffer, s.cfg.SlowDeadline)
	defer s.hub.unregister(ss)
	expiry := time.AfterFunc(time.Until(claims.Expiry()), func() { ss.close(closeErr(CodeTokenExpired, "token expired")) })
	defer expiry.Stop()
	// The writer below starts after the subscription: a replay longer than
	// the queue's room is written from here meanwhile.
	ss.drain = func() error {
		for _, f := range ss.take(nil) {
			writeEvent(bw, f)
		}
		rc.SetWriteDeadline(time.Now().Add(s.cfg.SlowDeadline))
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := s.subscribe(ctx, ss, pos, claims.Expiry()); err != nil {
		ss.close(&CloseError{Code: CodeInternal, Message: "resume failed, reconnect", Err: err})
	}
	ss.drain = nil
	s.writeSSE(ctx, rc, bw, ss)
}

func (s *Server) writeSSE(ctx context.Context, rc *http.ResponseController, bw *bufio.Writer, ss *session) {
	var spare []frame
	flush := func() bool {
		rc.SetWriteDeadline(time.Now().Add(s.cfg.SlowDeadline))
		return bw.Flush() == nil && rc.Flush() == nil
	}
	if !flush() {
		return
	}
	for {
		select {
		case <-ss.wake:
			batch := ss.take(spare)
			for _, f := range batch {
				writeEvent(bw, f)
			}
			if !flush() {
				ss.close(closeErr(CodeSlowConsumer, "write did not complete in time"))
				s.dropped(ss.closeReason())
				return
			}
			clear(batch)
			spare = batch
		case <-ss.done:
			ce := ss.closeReason()
			s.dropped(ce)
			if ce.Code != codePeerGone {
				writeEvent(bw, frame{t: TypeError, data: mustJSON(ErrorFrame{T: TypeError, Code: int(ce.Code), Message: ce.Message})})
				flush()
			}
			return
		case <-ctx.Done():
			ss.close(&CloseError{Code: codePeerGone, Message: "client gone"})
			return
		}
	}
}

// writeEvent writes f as one SSE event; frames are single-line JSON.
func writeEvent(bw *bufio.Writer, f frame) {
	if f.pos != "" {
		bw.WriteString("id: ")
		bw.WriteString(f.pos)
		bw.WriteByte('\n')
	}
	bw.WriteString("event: ")
	bw.WriteString(f.t)
	bw.WriteString("\ndata: ")
	bw.Write(f.data)
	bw.WriteString("\n\n")
}
