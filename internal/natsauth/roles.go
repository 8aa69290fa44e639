package natsauth

import (
	"fmt"
	"strings"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Role is what an identity is for.
type Role string

// The roles of factstream's NATS identities.
const (
	// RoleSensor publishes one host's raw batches on fact.in.<host>.*, answers that host's control
	// requests (fact.ctl.<host>.>) and reads back that host's FACT_RAW messages at restart.
	RoleSensor Role = "sensor"
	// RoleResolver reads FACT_RAW, writes FACT_ACTIVITY (events, checkpoints, dead letters), keeps its
	// leases and snapshots, and asks sensors to rescan.
	RoleResolver Role = "resolver"
	// RoleReader only consumes: FACT_ACTIVITY and FACT_RAW, the leases, and the sensors' status (tail,
	// history, replay, status, the Go client, the nats CLI).
	RoleReader Role = "reader"
	// RoleAdmin manages streams and consumers and sends any control request, the only role that may ask
	// a sensor to verify (fact.ctl.<host>.verify: it makes the node read files). It can neither delete
	// FACT_RAW or FACT_ACTIVITY nor publish into them, and the streams themselves refuse its purges and
	// message deletions.
	RoleAdmin Role = "admin"
)

// Roles are the roles an embedded server admits, in the order their credentials are listed.
func Roles() []Role { return []Role{RoleSensor, RoleResolver, RoleReader, RoleAdmin} }

// inboxRoot is where the sensor and the resolver receive replies. It is outside the default _INBOX.>, the
// inbox of readers and of the nats CLI, so that a reader cannot subscribe to the replies (FACT_RAW
// messages among them) of the roles that see more than it does.
const inboxRoot = "_FS_INBOX"

// InboxPrefix is the reply-subject prefix a connection of role (and host, for a sensor) must use:
// nats.CustomInboxPrefix, or the default inbox for readers and admins.
func InboxPrefix(role Role, host string) string {
	switch role {
	case RoleSensor:
		return inboxRoot + ".sensor." + host
	case RoleResolver:
		return inboxRoot + ".resolver"
	}
	return strings.TrimSuffix(nats.InboxPrefix, ".")
}

// Streams of JetStream's key-value and object stores, as JetStream names them.
var (
	leaseStream    = "KV_" + schemas.LeaseBucket
	snapshotStream = "OBJ_" + schemas.SnapshotBucket
)

// Permissions returns what an identity of role may publish and subscribe to. host scopes a sensor to
// one host and is required for it; the other roles ignore it.
func Permissions(role Role, host string) (*server.Permissions, error) {
	switch role {
	case RoleSensor:
		if host == "" || strings.ContainsAny(host, ".*> \t\r\n") {
			return nil, fmt.Errorf("sensor permissions for host %q: %w", host, ErrNoHost)
		}
		return sensorPermissions(host), nil
	case RoleResolver:
		return resolverPermissions(), nil
	case RoleReader:
		return readerPermissions(), nil
	case RoleAdmin:
		return adminPermissions(), nil
	}
	return nil, fmt.Errorf("permissions of %q: %w", role, ErrUnknownRole)
}

// jsAPI is a JetStream API subject.
func jsAPI(s string) string { return "$JS.API." + s }

// consume is what reading stream with ordered or pull consumers and message gets takes. Deleting a
// consumer is part of it: an ordered consumer deletes its old consumer when it resets.
func consume(stream string) []string {
	return []string{
		jsAPI("STREAM.INFO." + stream),
		jsAPI("STREAM.MSG.GET." + stream),
		jsAPI("DIRECT.GET." + stream), jsAPI("DIRECT.GET." + stream + ".>"),
		jsAPI("CONSUMER.CREATE." + stream), jsAPI("CONSUMER.CREATE." + stream + ".>"),
		jsAPI("CONSUMER.DURABLE.CREATE." + stream + ".>"),
		jsAPI("CONSUMER.INFO." + stream + ".>"),
		jsAPI("CONSUMER.NAMES." + stream), jsAPI("CONSUMER.LIST." + stream),
		jsAPI("CONSUMER.MSG.NEXT." + stream + ".>"),
		jsAPI("CONSUMER.DELETE." + stream + ".>"),
		"$JS.ACK." + stream + ".>", "$JS.FC." + stream + ".>",
	}
}

// manage is creating and reconfiguring stream (a bucket's, never the record's).
func manage(stream string) []string {
	return []string{jsAPI("STREAM.CREATE." + stream), jsAPI("STREAM.UPDATE." + stream)}
}

func sensorPermissions(host string) *server.Permissions {
	own := schemas.RawHostFilter(host) // the FACT_RAW subjects of this host
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			schemas.IngestHostFilter(host),
			jsAPI("INFO"),
			jsAPI("STREAM.INFO." + schemas.RawStream),
			// Reading back its own host's batches at restart, with an ordered consumer filtered on them.
			jsAPI("CONSUMER.CREATE." + schemas.RawStream + ".*." + own),
			jsAPI("CONSUMER.INFO." + schemas.RawStream + ".*"),
			jsAPI("CONSUMER.MSG.NEXT." + schemas.RawStream + ".*"),
			jsAPI("CONSUMER.DELETE." + schemas.RawStream + ".*"),
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			schemas.ControlHostFilter(host),
			InboxPrefix(RoleSensor, host) + ".>",
		}},
		// Answering a control request publishes once on its reply subject.
		Response: &server.ResponsePermission{MaxMsgs: 1},
	}
}

func resolverPermissions() *server.Permissions {
	allow := append([]string{jsAPI("INFO")}, schemas.ActivityStreamSubjects()...)
	allow = append(allow,
		"$KV."+schemas.LeaseBucket+".>", "$O."+schemas.SnapshotBucket+".>",
		jsAPI("STREAM.PURGE."+snapshotStream), // an object's old chunks go when it is replaced
		schemas.ControlSubject("*", schemas.VerbRescan),
	)
	for _, s := range []string{schemas.RawStream, schemas.ActivityStream, leaseStream, snapshotStream} {
		allow = append(allow, consume(s)...)
	}
	allow = append(allow, manage(leaseStream)...)
	allow = append(allow, manage(snapshotStream)...)
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: allow},
		Subscribe: &server.SubjectPermission{Allow: []string{InboxPrefix(RoleResolver, "") + ".>"}},
	}
}

func readerPermissions() *server.Permissions {
	allow := []string{
		jsAPI("INFO"), jsAPI("STREAM.NAMES"), jsAPI("STREAM.LIST"),
		schemas.ControlSubject("*", schemas.VerbStatus),
	}
	for _, s := range []string{schemas.ActivityStream, schemas.RawStream, leaseStream} {
		allow = append(allow, consume(s)...)
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: allow},
		Subscribe: &server.SubjectPermission{Allow: []string{nats.InboxPrefix + ">"}},
	}
}

func adminPermissions() *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{
			Allow: []string{jsAPI(">"), "$JS.ACK.>", "$JS.FC.>", schemas.ControlFilter()},
			Deny: []string{
				jsAPI("STREAM.DELETE." + schemas.RawStream),
				jsAPI("STREAM.DELETE." + schemas.ActivityStream),
			},
		},
		Subscribe: &server.SubjectPermission{Allow: []string{nats.InboxPrefix + ">"}},
	}
}
