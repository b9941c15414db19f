package push

import (
	"context"
	"errors"
	"slices"
	"time"
)

// handleFrame handles the frames a live session sends that do not change
// the session itself: receipts and span. The WebSocket reader calls it for
// those types; it does not block on Kafka, so a reader serving many
// connections is never held up. Bad reads and out-of-bounds spans are
// dropped and counted, never a reason to close.
func (s *Server) handleFrame(ss *session, f ClientFrame) *CloseError {
	switch f.T {
	case TypeReceipts:
		// Answers go out in the order of the frames: each waits for the
		// previous one's before it is queued.
		prev, done := ss.lastReceipt, make(chan struct{})
		ss.lastReceipt = done
		go func() {
			defer close(done)
			// A read's origin channel must be one this connection was granted.
			n, dropped, err := s.acceptReads(context.Background(), f.Reads, func(ch string) bool { return slices.Contains(ss.channels, ch) })
			if prev != nil {
				<-prev
			}
			var fe *FrameError
			switch {
			case errors.As(err, &fe):
				ss.close(&CloseError{Code: CodeProtocol, Message: "bad frame", Err: err})
			case err != nil:
				// No receipted frame: the client keeps the reads and sends them again.
				s.cfg.Log.Warn("receipts not stored", "session", ss.id, "err", err)
			default:
				ss.enqueue(receipted(n, dropped), time.Now())
			}
		}()
	case TypeSpan:
		s.exportSpan(f)
	}
	return nil
}
