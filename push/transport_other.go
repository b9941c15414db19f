//go:build !linux

package push

// poller is Linux-only; elsewhere each connection reads with a goroutine
// of its own.
type poller struct{}

var wsPoller poller

func (poller) arm(*wsConn) bool { return false }
func (poller) remove(*wsConn)   {}
