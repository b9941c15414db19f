package push

import (
	"time"

	"github.com/cachetsync/cachet/record"
)

// DefaultAddr is the address a push server listens on unless told
// otherwise, and so where clients on this machine look for it.
const DefaultAddr = "127.0.0.1:8090"

// DefaultConfig returns a Config with every tunable at its default; New
// fills in the same values for fields left zero. Kafka and Verifier are
// left for the caller.
func DefaultConfig() Config {
	return Config{
		Topic:              record.TopicTransitions,
		PurgesTopic:        record.TopicPurges,
		ReadsTopic:         record.TopicReads,
		AdviceTopic:        record.TopicAdvice,
		Window:             4096,
		SendBuffer:         1024,
		SlowDeadline:       5 * time.Second,
		MaxChannels:        64,
		MaxFrameBytes:      16 << 10,
		FramesPerSecond:    20,
		MaxConnsPerIP:      256,
		MaxConns:           19000,
		PingInterval:       25 * time.Second,
		HelloTimeout:       10 * time.Second,
		CatchUpConcurrency: 4,
		ReceiptTimeout:     10 * time.Second,
	}
}
