// Package natsservertest starts embedded NATS servers for tests, following nats-server's own test
// conventions: random ports, no signal handlers, JetStream file store in t.TempDir(), in-process clients,
// and cleanup registered with the test. RunCluster starts a three-server JetStream cluster (R3 streams)
// with servers that can be stopped and restarted in place.
//
// The helpers call t.Fatal on failure and are meant for the test goroutine. A *Cluster is not safe for
// concurrent Restart/Stop calls; its servers are.
package natsservertest
