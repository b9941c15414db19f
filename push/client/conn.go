package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coder/websocket"

	"github.com/cachetsync/cachet/push"
)

// maxMessageBytes bounds one server message (a batch is at most 64 KiB,
// a single frame may be larger).
const maxMessageBytes = 1 << 20

// Conn is one push connection after its welcome. Next is not safe for
// concurrent use; Send and Refresh may be called while Next waits.
type Conn struct {
	ws      *websocket.Conn
	welcome Frame
	pending [][]byte // lines of a batched message not yet returned
	pos     string
}

// Dial opens a WebSocket to url (ws:// or wss://, path /ws), sends hello
// with its Token, Channels and Pos (Pos "" subscribes from now) and waits
// for the welcome. Dial sets hello's type and version and asks for batched
// frames. A refusal is a *push.CloseError with the server's code.
func Dial(ctx context.Context, url string, hello push.ClientFrame) (*Conn, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("push: dial %s: %w", url, err)
	}
	ws.SetReadLimit(maxMessageBytes)
	c := &Conn{ws: ws, pos: hello.Pos}
	hello.T, hello.V, hello.Batch = push.TypeHello, push.ProtocolVersion, true
	if err := c.Send(ctx, hello); err != nil {
		ws.CloseNow()
		return nil, err
	}
	for {
		f, err := c.Next(ctx)
		if err != nil {
			ws.CloseNow()
			return nil, err
		}
		if f.Welcome != nil {
			c.welcome = f
			return c, nil
		}
	}
}

// Welcome is the server's welcome: granted channels, position, whether
// the hello's position was resumed (when not, and a position was sent, a
// reset follows), token expiry and limits.
func (c *Conn) Welcome() push.WelcomeFrame { return *c.welcome.Welcome }

// Pos is the latest position received: the one to resume from.
func (c *Conn) Pos() string { return c.pos }

// Next returns the next server frame, splitting batched messages. When
// the server closes the connection it returns a *push.CloseError with the
// close code and reason; other failures are the transport's error.
func (c *Conn) Next(ctx context.Context) (Frame, error) {
	for len(c.pending) == 0 {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			return Frame{}, closeError(err)
		}
		c.pending = bytes.Split(data, []byte("\n"))
	}
	line := c.pending[0]
	c.pending = c.pending[1:]
	f, err := ParseFrame(line)
	if err != nil {
		return Frame{}, err
	}
	if f.Pos != "" {
		c.pos = f.Pos
	}
	return f, nil
}

// Send writes one client frame (receipts, span, ping, refresh).
func (c *Conn) Send(ctx context.Context, f push.ClientFrame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("push: send %s: %w", f.T, closeError(err))
	}
	return nil
}

// Refresh replaces the connection's token before it expires; the server
// answers with a refreshed frame, or closes with a 41xx/44xx code.
func (c *Conn) Refresh(ctx context.Context, token string) error {
	return c.Send(ctx, push.ClientFrame{T: push.TypeRefresh, Token: token})
}

// Close closes the connection normally.
func (c *Conn) Close() error { return c.ws.Close(websocket.StatusNormalClosure, "") }

// closeError turns a WebSocket close into a *push.CloseError.
func closeError(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &push.CloseError{Code: push.CloseCode(ce.Code), Message: ce.Reason, Err: err}
	}
	return err
}
