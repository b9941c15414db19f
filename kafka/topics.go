package kafka

import "github.com/cachetsync/cachet/record"

// TopicSpec is a topic Cachet needs, with an explicit partition count and
// replication factor.
type TopicSpec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	// Config holds topic configs such as cleanup.policy or retention.ms.
	Config map[string]string
}

// Validate checks that s names a topic with at least one partition and replica.
func (s TopicSpec) Validate() error {
	switch {
	case s.Name == "":
		return &ConfigError{Field: "topic", Reason: "empty name"}
	case s.Partitions < 1:
		return &ConfigError{Field: "topic " + s.Name, Reason: "partitions must be at least 1"}
	case s.ReplicationFactor < 1:
		return &ConfigError{Field: "topic " + s.Name, Reason: "replication factor must be at least 1"}
	}
	return nil
}

// DefaultTransitionPartitions is the partition count of cachet.transitions
// and cachet.reads when nothing else is asked for.
const DefaultTransitionPartitions = 6

// CachetTopics returns the specs of every Cachet topic: transitions, purges,
// conflicts and reads with the given partition count (DefaultTransitionPartitions if n < 1),
// advice with the same, positions as a one-partition compacted topic, and
// the dead-letter topic with one partition.
func CachetTopics(n, replication int) []TopicSpec {
	if n < 1 {
		n = DefaultTransitionPartitions
	}
	if replication < 1 {
		replication = 1
	}
	return []TopicSpec{
		{Name: record.TopicTransitions, Partitions: n, ReplicationFactor: replication},
		{Name: record.TopicPurges, Partitions: n, ReplicationFactor: replication},
		{Name: record.TopicConflicts, Partitions: n, ReplicationFactor: replication},
		{Name: record.TopicReads, Partitions: n, ReplicationFactor: replication},
		{Name: record.TopicAdvice, Partitions: n, ReplicationFactor: replication},
		{Name: record.TopicPositions, Partitions: 1, ReplicationFactor: replication,
			Config: map[string]string{"cleanup.policy": "compact"}},
		{Name: record.TopicDeadLetter, Partitions: 1, ReplicationFactor: replication},
	}
}
