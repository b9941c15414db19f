package push

import "fmt"

// CloseCode is a WebSocket close code of the push protocol (PROTOCOL.md,
// "Close codes"). 4000–4099: reconnect and resume; 4100–4199: get a new
// token, then reconnect; 4400–4499 (and 1008, 1009): terminal.
type CloseCode int

// Close codes.
const (
	CodeShutdown           CloseCode = 4000
	CodeSlowConsumer       CloseCode = 4001
	CodeInternal           CloseCode = 4002
	CodePingTimeout        CloseCode = 4003
	CodeRateLimited        CloseCode = 4029
	CodeTokenExpired       CloseCode = 4100
	CodeTokenNotYetValid   CloseCode = 4101
	CodeMessageTooBig      CloseCode = 1009
	CodeProtocol           CloseCode = 4400
	CodeTokenInvalid       CloseCode = 4401
	CodeAlgorithm          CloseCode = 4402
	CodeAudience           CloseCode = 4403
	CodeChannelForbidden   CloseCode = 4404
	CodeTooManyChannels    CloseCode = 4405
	CodeHelloTimeout       CloseCode = 4408
	CodeUnsupportedVersion CloseCode = 4409
)

var codeNames = map[CloseCode]string{
	CodeShutdown: "shutdown", CodeSlowConsumer: "slow-consumer", CodeInternal: "internal",
	CodePingTimeout: "ping-timeout", CodeRateLimited: "rate-limited", CodeTokenExpired: "token-expired",
	CodeTokenNotYetValid: "token-not-yet-valid", CodeMessageTooBig: "message-too-big",
	CodeProtocol: "protocol", CodeTokenInvalid: "token-invalid", CodeAlgorithm: "algorithm",
	CodeAudience: "audience", CodeChannelForbidden: "channel-forbidden",
	CodeTooManyChannels: "too-many-channels", CodeHelloTimeout: "hello-timeout",
	CodeUnsupportedVersion: "unsupported-version",
}

// String returns the code's name as metrics and logs show it.
func (c CloseCode) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("code-%d", int(c))
}

// Reconnect reports whether a client may reconnect on its own after c.
func (c CloseCode) Reconnect() bool { return c >= 4000 && c < 4200 || c == 1000 || c == 1001 }

// CloseError is why the server ends a connection: a close code and a
// sentence for the client. It is an error so session code can return it.
type CloseError struct {
	Code    CloseCode
	Message string
	Err     error // cause, if any (a *jwt error for token codes)
}

func (e *CloseError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %s: %v", int(e.Code), e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s: %s", int(e.Code), e.Code, e.Message)
}

func (e *CloseError) Unwrap() error { return e.Err }

func closeErr(code CloseCode, msg string) *CloseError { return &CloseError{Code: code, Message: msg} }
