package kafka

// AdvertiseHandshakeV0 lets the tests put the librdkafka SASL shim on a
// kfake cluster of their own (TLS).
var AdvertiseHandshakeV0 = advertiseHandshakeV0
