// Package client is the Go client of Cachet's push protocol
// (push/PROTOCOL.md): it connects over WebSocket, sends hello (accepting
// batched frames), resumes from the last position it received, hands
// resets to the caller, refreshes its token on a live connection and
// fetches a fresh one to reconnect, and tells transient closes (reconnect
// with backoff and jitter) from terminal ones.
//
// Dial gives one connection, frame by frame (tests and tools that want to
// see each close). Client.Run keeps a subscription alive across
// disconnects until its context ends or the server refuses for good.
package client
