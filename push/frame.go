package push

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cachetsync/cachet/record"
)

// ProtocolVersion is the push protocol version this server speaks.
const ProtocolVersion = 1

// Frame types (the "t" field).
const (
	TypeHello      = "hello"
	TypeRefresh    = "refresh"
	TypePing       = "ping"
	TypePong       = "pong"
	TypeReceipts   = "receipts"
	TypeSpan       = "span"
	TypeWelcome    = "welcome"
	TypeTransition = "transition"
	TypePurge      = "purge"
	TypeReset      = "reset"
	TypeRefreshed  = "refreshed"
	TypeError      = "error"
	TypeReceipted  = "receipted"
	TypeAdvice     = "advice"
)

// Reset reasons.
const (
	ResetEpoch     = "epoch"
	ResetRetention = "retention"
	ResetChannels  = "channels"
	ResetPosition  = "position"
)

// ClientFrame is any frame a client sends; fields not used by its type are
// empty.
type ClientFrame struct {
	T        string          `json:"t"`
	V        int             `json:"v,omitempty"`
	Token    string          `json:"token,omitempty"`
	Channels []string        `json:"channels,omitempty"`
	Pos      string          `json:"pos,omitempty"`
	Batch    bool            `json:"batch,omitempty"` // hello: the client reads several messages per frame, one per line
	Reads    json.RawMessage `json:"reads,omitempty"` // receipts: an array of record.Read

	// span: the browser's span, child of Traceparent.
	Traceparent string            `json:"traceparent,omitempty"`
	Name        string            `json:"name,omitempty"`
	StartMs     float64           `json:"startMs,omitempty"` // Unix epoch milliseconds
	EndMs       float64           `json:"endMs,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
}

// MaxReadsPerFrame bounds the reads of one receipts frame.
const MaxReadsPerFrame = 100

// FrameError reports a client frame that breaks the protocol.
type FrameError struct {
	Reason string
	Err    error
}

func (e *FrameError) Error() string {
	if e.Err != nil {
		return "bad frame: " + e.Reason + ": " + e.Err.Error()
	}
	return "bad frame: " + e.Reason
}

func (e *FrameError) Unwrap() error { return e.Err }

// ParseClientFrame decodes one client frame and checks its shape: a known
// type, and for hello the version, channel syntax and position length. It
// does not check tokens or limits.
func ParseClientFrame(b []byte) (ClientFrame, error) {
	var f ClientFrame
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&f); err != nil {
		return ClientFrame{}, &FrameError{Reason: "malformed JSON", Err: err}
	}
	if d.More() {
		return ClientFrame{}, &FrameError{Reason: "trailing data after the frame"}
	}
	switch f.T {
	case TypeHello:
		if f.Token == "" {
			return f, &FrameError{Reason: "hello without token"}
		}
		if len(f.Pos) > MaxPositionBytes {
			return f, &FrameError{Reason: "position too long"}
		}
		for _, c := range f.Channels {
			if err := ValidChannel(c); err != nil {
				return f, err
			}
		}
	case TypeRefresh:
		if f.Token == "" {
			return f, &FrameError{Reason: "refresh without token"}
		}
	case TypeReceipts:
		var reads []json.RawMessage
		if err := json.Unmarshal(f.Reads, &reads); err != nil || reads == nil {
			return f, &FrameError{Reason: "receipts without a reads array", Err: err}
		}
		if len(reads) > MaxReadsPerFrame {
			return f, &FrameError{Reason: fmt.Sprintf("%d reads in one frame (at most %d)", len(reads), MaxReadsPerFrame)}
		}
	case TypeSpan:
		if f.Traceparent == "" || f.Name == "" {
			return f, &FrameError{Reason: "span without traceparent or name"}
		}
	case TypePing, TypePong:
	case "":
		return f, &FrameError{Reason: "missing frame type"}
	default:
		return f, &FrameError{Reason: fmt.Sprintf("unknown frame type %q", f.T)}
	}
	return f, nil
}

// ErrBadChannel is wrapped by the *FrameError for a malformed channel name.
var ErrBadChannel = errors.New("malformed channel")

// ValidChannel checks a channel name's syntax: origin:<scheme://host[:port]>
// or tag:<tag>.
func ValidChannel(c string) error {
	bad := func(why string) error {
		return &FrameError{Reason: fmt.Sprintf("channel %.80q: %s", c, why), Err: ErrBadChannel}
	}
	switch {
	case len(c) > 300:
		return bad("too long")
	case len(c) > 4 && c[:4] == "tag:":
		for i := 4; i < len(c); i++ {
			if c[i] <= ' ' || c[i] >= 0x7f {
				return bad("control, space or non-ASCII byte")
			}
		}
	case len(c) > 7 && c[:7] == "origin:":
		o := c[7:]
		if !(len(o) > 8 && o[:8] == "https://" || len(o) > 7 && o[:7] == "http://") {
			return bad("origin must start with http:// or https://")
		}
		for i := 0; i < len(o); i++ {
			if o[i] <= ' ' || o[i] >= 0x7f {
				return bad("control, space or non-ASCII byte")
			}
		}
		if host := o[bytes.Index([]byte(o), []byte("://"))+3:]; host == "" || bytes.IndexByte([]byte(host), '/') >= 0 {
			return bad("origin has a path or no host")
		}
	default:
		return bad("want origin:<origin> or tag:<tag>")
	}
	return nil
}

// transitionFrame is the transition frame's JSON: the record and the
// position. The record's schema version and channel are the connection's,
// not the frame's: the zero fields here shadow them and are omitted.
type transitionFrame struct {
	T   string `json:"t"`
	Pos string `json:"pos"`
	record.Transition
	V       int    `json:"v,omitempty"`
	Channel string `json:"channel,omitempty"`
}

// encodeTransitionBody encodes everything of the frame after the position:
// `,"key":...}`. A delivery is then `{"t":"transition","pos":"` + pos + `"` + body.
func encodeTransitionBody(tr record.Transition) []byte {
	b, _ := json.Marshal(transitionFrame{T: TypeTransition, Transition: tr})
	// b starts with {"t":"transition","pos":"", ; keep from the comma on.
	const prefix = `{"t":"transition","pos":""`
	return b[len(prefix):]
}

// frameBytes is a transition or purge frame (t) at pos, from its body.
func frameBytes(t string, pos []byte, body []byte) []byte {
	const head, mid = `{"t":"`, `","pos":"`
	b := make([]byte, 0, len(head)+len(t)+len(mid)+len(pos)+1+len(body))
	b = append(b, head...)
	b = append(b, t...)
	b = append(b, mid...)
	b = append(b, pos...)
	b = append(b, '"')
	return append(b, body...)
}

// WelcomeFrame is the server's answer to an accepted hello (PROTOCOL.md,
// "Server → client").
type WelcomeFrame struct {
	T        string      `json:"t"`
	V        int         `json:"v"`
	Session  string      `json:"session"`
	Channels []string    `json:"channels"`
	Pos      string      `json:"pos"`
	Resumed  bool        `json:"resumed"`
	Exp      int64       `json:"exp"`
	Limits   FrameLimits `json:"limits"`
}

// FrameLimits are the client limits a welcome announces.
type FrameLimits struct {
	Channels        int `json:"channels"`
	MaxFrameBytes   int `json:"maxFrameBytes"`
	FramesPerSecond int `json:"framesPerSecond"`
}

// ResetFrame tells the client the server cannot prove it missed nothing:
// flush what is not proven fresh, then store Pos.
type ResetFrame struct {
	T      string `json:"t"`
	Reason string `json:"reason"`
	Pos    string `json:"pos"`
}

// PosFrame is a ping (with a checkpoint position) or a pong (without).
type PosFrame struct {
	T   string `json:"t"`
	Pos string `json:"pos,omitempty"`
}

// RefreshedFrame acknowledges a refresh; Exp is the new token's expiry
// (Unix seconds).
type RefreshedFrame struct {
	T   string `json:"t"`
	Exp int64  `json:"exp"`
}

// ErrorFrame precedes the server's close with Code.
type ErrorFrame struct {
	T       string `json:"t"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only fixed struct types reach here
	}
	return b
}
