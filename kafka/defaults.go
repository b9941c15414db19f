package kafka

import "strconv"

// DefaultPort is the port a local broker listens on, Kafka's own.
const DefaultPort = 9092

// DefaultBrokers is the bootstrap list of a broker on this machine at
// DefaultPort (such as `cachet dev`'s): what commands use when none is given.
var DefaultBrokers = "127.0.0.1:" + strconv.Itoa(DefaultPort)

// DefaultReplication is the replication factor of Cachet's topics when a
// command creates them without being told: 1, right for a single broker.
const DefaultReplication = 1
