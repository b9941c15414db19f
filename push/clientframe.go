package push

import (
	"context"
	"errors"
	"slices"
	"time"
)

// handleFrame handles the frames a live session sends that do not change
// the session itself: receipts and span. The WebSocket reader calls it for
// those types. Bad reads and out-of-bounds spans are dropped and counted,
// never a reason to close; a non-nil result is (a frame of the wrong shape).
func (s *Server) handleFrame(ctx context.Context, ss *session, f ClientFrame) *CloseError {
	switch f.T {
	case TypeReceipts:
		// A read's origin channel must be one this connection was granted.
		n, dropped, err := s.acceptReads(ctx, f.Reads, func(ch string) bool { return slices.Contains(ss.channels, ch) })
		var fe *FrameError
		switch {
		case errors.As(err, &fe):
			return &CloseError{Code: CodeProtocol, Message: "bad frame", Err: err}
		case err != nil:
			// No receipted frame: the client keeps the reads and sends them again.
			s.cfg.Log.Warn("receipts not stored", "session", ss.id, "err", err)
			return nil
		}
		ss.enqueue(receipted(n, dropped), time.Now())
	case TypeSpan:
		s.exportSpan(f)
	}
	return nil
}
