// Package natsserver owns the embedded NATS server with JetStream that `factstream up`, the sensor and the
// tests run in-process: it validates a small Config, starts the server, waits until it accepts
// connections (or reports why it cannot, such as a port already in use), hands out in-process client
// connections, and shuts the server down. Starting a new Server on the same StoreDir and port after a
// Shutdown is a restart: JetStream recovers its streams from the store.
//
// A *Server is safe for concurrent use; Shutdown may be called more than once. Config is a plain value.
// The natsservertest subpackage starts single servers and three-server JetStream clusters for tests.
package natsserver
