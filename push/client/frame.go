package client

import (
	"encoding/json"

	"github.com/cachetsync/cachet/push"
	"github.com/cachetsync/cachet/record"
)

// Transition is a transition frame: the record's fields the server sends
// (record.Transition without v and channel) and the position covering it.
type Transition struct {
	Pos string `json:"pos"`
	record.Transition
}

// Frame is one server → client frame. Type names it; the field of that
// type is set (none for ping, pong and types this client does not know).
type Frame struct {
	Type string
	// Pos is the frame's position ("" when it carries none: advice,
	// refreshed, error, pong). A client stores the latest and sends it
	// back to resume.
	Pos string

	Welcome    *push.WelcomeFrame
	Transition *Transition
	// Purge is a purge frame: the generation record's fields the server
	// sends (record.Generation without v and channel); Pos covers it.
	Purge     *record.Generation
	Reset     *push.ResetFrame
	Advice    *record.Advice
	Error     *push.ErrorFrame
	Refreshed *push.RefreshedFrame
	Receipted *push.ReceiptedFrame

	// Raw is the frame's JSON as received.
	Raw []byte
}

// ParseFrame decodes one server frame (one line of a batched message).
// A frame of an unknown type is returned with only Type, Pos and Raw set,
// so a newer server's additions pass through; a frame that is not a JSON
// object is a *push.FrameError.
func ParseFrame(b []byte) (Frame, error) {
	var head struct {
		T   string `json:"t"`
		Pos string `json:"pos"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return Frame{}, &push.FrameError{Reason: "server frame is not a JSON object", Err: err}
	}
	f := Frame{Type: head.T, Pos: head.Pos, Raw: b}
	var dst any
	switch head.T {
	case push.TypeWelcome:
		f.Welcome = new(push.WelcomeFrame)
		dst = f.Welcome
	case push.TypeTransition:
		f.Transition = new(Transition)
		dst = f.Transition
	case push.TypePurge:
		f.Purge = new(record.Generation)
		dst = f.Purge
	case push.TypeReset:
		f.Reset = new(push.ResetFrame)
		dst = f.Reset
	case push.TypeAdvice:
		f.Advice = new(record.Advice)
		dst = f.Advice
	case push.TypeError:
		f.Error = new(push.ErrorFrame)
		dst = f.Error
	case push.TypeRefreshed:
		f.Refreshed = new(push.RefreshedFrame)
		dst = f.Refreshed
	case push.TypeReceipted:
		f.Receipted = new(push.ReceiptedFrame)
		dst = f.Receipted
	case "":
		return Frame{}, &push.FrameError{Reason: "server frame without a type"}
	default:
		return f, nil
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return Frame{}, &push.FrameError{Reason: head.T + " frame malformed", Err: err}
	}
	return f, nil
}
