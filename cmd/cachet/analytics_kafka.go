package main

import (
	"context"
	"io"
)

// runAnalyticsKafka is the Kafka side of cachet analytics (run, top).
func runAnalyticsKafka(_ context.Context, sub string, _ []string, _ io.Writer) error {
	return usageError{"cachet analytics " + sub + ": Kafka wiring is not in this build yet"}
}
