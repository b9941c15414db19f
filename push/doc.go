// Package push is Cachet's push server: it consumes cachet.transitions from
// Kafka and fans each transition out to browsers subscribed to its channels
// (origin:<origin>, tag:<tag>) over WebSocket or Server-Sent Events.
//
// Every delivery carries a position (topic epoch plus per-partition offsets)
// that the client sends back on reconnect; the server replays what it missed
// from an in-memory window or, beyond it, from Kafka, or tells it to reset.
// Clients send back eviction receipts and read telemetry (produced to
// cachet.reads) and their eviction spans (exported through OpenTelemetry
// as children of the push.fanout span each transition frame names); the
// server forwards analytics' advice from cachet.advice to the key's origin
// channel. SSE clients use POST /receipts and /spans for what WebSocket
// clients send as frames.
//
// The wire protocol is written down in PROTOCOL.md beside this file.
package push
