package natsauth_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const host = "node-a"

// refusalWait bounds the wait for the server's asynchronous refusal of a publish or subscription.
const refusalWait = 30 * time.Second

// lockedServer is an embedded server that admits only the identities of a fresh data directory, with
// the record streams provisioned by admin.
type lockedServer struct {
	srv     *natsserver.Server
	ids     *natsauth.Identities
	dataDir string
}

func startLocked(t *testing.T) *lockedServer {
	t.Helper()
	dataDir := t.TempDir()
	ids, err := natsauth.EnsureIdentities(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	users, err := ids.Users(host)
	if err != nil {
		t.Fatal(err)
	}
	srv := natsservertest.RunServerWith(t, natsserver.Config{StoreDir: t.TempDir(), Port: natsserver.RandomPort, Users: users})
	ls := &lockedServer{srv: srv, ids: ids, dataDir: dataDir}
	js := ls.js(t, natsauth.RoleAdmin)
	if err := publish.EnsureRawStream(t.Context(), js, publish.RawStreamConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := pipeline.EnsureStreams(t.Context(), js, pipeline.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	return ls
}

// conn connects as role over TCP (as another process would), recording the server's refusals.
func (ls *lockedServer) conn(t *testing.T, role natsauth.Role) (*nats.Conn, <-chan error) {
	t.Helper()
	errs := make(chan error, 64)
	nc, err := nats.Connect(ls.srv.ClientURL(), ls.ids.Option(role, host),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connecting as %s: %v", role, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

func (ls *lockedServer) js(t *testing.T, role natsauth.Role) jetstream.JetStream {
	t.Helper()
	nc, _ := ls.conn(t, role)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// expectRefused waits for the server to refuse an operation on subject.
func expectRefused(t *testing.T, errs <-chan error, subject string) {
	t.Helper()
	deadline := time.After(refusalWait)
	for {
		select {
		case err := <-errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`) {
				return
			}
		case <-deadline:
			t.Fatalf("the server did not refuse %q within %s", subject, refusalWait)
		}
	}
}

// publishRefused publishes on subject and expects the server to refuse it.
func publishRefused(t *testing.T, nc *nats.Conn, errs <-chan error, subject string) {
	t.Helper()
	if err := nc.Publish(subject, []byte("forged")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	expectRefused(t, errs, subject)
}

func TestAnonymousRefused(t *testing.T) {
	ls := startLocked(t)
	_, err := nats.Connect(ls.srv.ClientURL())
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connecting without credentials: err = %v, want an authorization violation", err)
	}
	_, err = nats.Connect(ls.srv.ClientURL(), nats.UserInfo("admin", "admin"))
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connecting with a password: err = %v, want an authorization violation", err)
	}
	if got := natsauth.Explain(nil, err, "connect", "pass --creds"); !errors.Is(got, natsauth.ErrNotAuthorized) {
		t.Fatalf("Explain(%v) = %v, want ErrNotAuthorized", err, got)
	}
}

func TestReaderOnlyConsumes(t *testing.T) {
	ls := startLocked(t)
	sjs := ls.js(t, natsauth.RoleSensor)
	if _, err := sjs.Publish(t.Context(), schemas.IngestSubject(host, 7), []byte("batch")); err != nil {
		t.Fatalf("sensor publishing its own batch: %v", err)
	}
	rjs := ls.js(t, natsauth.RoleResolver)
	if _, err := rjs.Publish(t.Context(), schemas.ActivityPrefix+"."+host+".creation", []byte("event")); err != nil {
		t.Fatalf("resolver publishing an event: %v", err)
	}
	// A content event (a file's hash) is one more type under the same subjects.
	if _, err := rjs.Publish(t.Context(), schemas.ActivitySubject(host, schemas.KindContent.String()), []byte("event")); err != nil {
		t.Fatalf("resolver publishing a content event: %v", err)
	}
	// So is a drift event (a change a scan found that no event explains).
	if _, err := rjs.Publish(t.Context(), schemas.ActivitySubject(host, schemas.TypeDrift), []byte("event")); err != nil {
		t.Fatalf("resolver publishing a drift event: %v", err)
	}

	nc, errs := ls.conn(t, natsauth.RoleReader)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, stream := range natsauth.RecordStreams() {
		cons, err := js.OrderedConsumer(t.Context(), stream, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatalf("reader consuming %s: %v", stream, err)
		}
		if _, err := cons.Next(jetstream.FetchMaxWait(refusalWait)); err != nil {
			t.Fatalf("reader reading %s: %v", stream, err)
		}
	}
	publishRefused(t, nc, errs, schemas.IngestSubject(host, 7))
	publishRefused(t, nc, errs, schemas.ActivityPrefix+"."+host+".creation")
	publishRefused(t, nc, errs, schemas.ActivitySubject(host, schemas.KindContent.String()))
	for _, api := range []string{"STREAM.PURGE.", "STREAM.DELETE.", "STREAM.MSG.DELETE.", "STREAM.UPDATE."} {
		publishRefused(t, nc, errs, "$JS.API."+api+schemas.ActivityStream)
	}
	publishRefused(t, nc, errs, "$SYS.REQ.SERVER.PING")
}

func TestSensorPublishesOnlyForItsHost(t *testing.T) {
	ls := startLocked(t)
	nc, errs := ls.conn(t, natsauth.RoleSensor)
	publishRefused(t, nc, errs, schemas.IngestSubject("node-b", 7))
	publishRefused(t, nc, errs, schemas.ActivityPrefix+"."+host+".creation")
	if _, err := nc.Subscribe(schemas.ControlSubject("node-b", schemas.VerbStatus), func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	expectRefused(t, errs, schemas.ControlSubject("node-b", schemas.VerbStatus))

	// It answers its own control requests.
	sub, err := nc.Subscribe(schemas.ControlSubject(host, schemas.VerbStatus), func(m *nats.Msg) { _ = m.Respond([]byte("ok")) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	reader, _ := ls.conn(t, natsauth.RoleReader)
	if m, err := reader.Request(schemas.ControlSubject(host, schemas.VerbStatus), nil, refusalWait); err != nil || string(m.Data) != "ok" {
		t.Fatalf("asking the sensor for its status: %v", err)
	}
}

func TestRecordCannotBeErased(t *testing.T) {
	ls := startLocked(t)
	sjs := ls.js(t, natsauth.RoleSensor)
	if _, err := sjs.Publish(t.Context(), schemas.IngestSubject(host, 7), []byte("batch")); err != nil {
		t.Fatal(err)
	}
	nc, errs := ls.conn(t, natsauth.RoleAdmin)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range natsauth.RecordStreams() {
		s, err := js.Stream(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Purge(t.Context()); err == nil {
			t.Errorf("admin purged %s", name)
		} else if !isStreamRefusal(err) {
			t.Errorf("admin purging %s: %v, want the stream's refusal", name, err)
		}
		if err := s.DeleteMsg(t.Context(), 1); err == nil || !isStreamRefusal(err) {
			t.Errorf("admin deleting message 1 of %s: %v, want the stream's refusal", name, err)
		}
		publishRefused(t, nc, errs, "$JS.API.STREAM.DELETE."+name)
	}
	raw, err := js.Stream(t.Context(), schemas.RawStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := raw.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("FACT_RAW holds %d messages after the attempts, want 1", n)
	}
}

// isStreamRefusal says whether err is JetStream refusing a purge or delete by the stream's configuration
// ("purge not permitted", "message delete not permitted"; nats.go does not always wrap the API error).
func isStreamRefusal(err error) bool {
	return strings.Contains(err.Error(), "not permitted")
}

func TestProtectUpdatesAnOldStream(t *testing.T) {
	srv := natsservertest.RunServer(t)
	js, err := jetstream.New(natsservertest.Connect(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: schemas.ActivityStream, Subjects: []string{schemas.ActivityPrefix + ".>"}}); err != nil {
		t.Fatal(err)
	}
	changed, err := natsauth.Protect(t.Context(), js)
	if err != nil || len(changed) != 1 || changed[0] != schemas.ActivityStream {
		t.Fatalf("Protect = %v, %v; want [%s]", changed, err, schemas.ActivityStream)
	}
	s, err := js.Stream(context.Background(), schemas.ActivityStream)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CachedInfo().Config; !c.DenyDelete || !c.DenyPurge {
		t.Fatalf("after Protect: DenyDelete %v DenyPurge %v", c.DenyDelete, c.DenyPurge)
	}
	if changed, err := natsauth.Protect(t.Context(), js); err != nil || len(changed) != 0 {
		t.Fatalf("Protect again = %v, %v; want nothing changed", changed, err)
	}
}

func TestCredentialsFiles(t *testing.T) {
	dataDir := t.TempDir()
	first, err := natsauth.EnsureIdentities(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(dataDir, natsauth.CredsDir)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("credentials directory: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	for _, role := range natsauth.Roles() {
		fi, err := os.Stat(natsauth.CredsFile(dataDir, role))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s credentials: %v; want mode 0600", role, err)
		}
	}
	// Loosened permissions are tightened again, and the identities stay the same.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(natsauth.CredsFile(dataDir, natsauth.RoleReader), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := natsauth.EnsureIdentities(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(natsauth.CredsFile(dataDir, natsauth.RoleReader)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("reader credentials left at mode %v", fi.Mode().Perm())
	}
	a, _ := first.Users(host)
	b, _ := second.Users(host)
	for i := range a {
		if a[i].Nkey != b[i].Nkey {
			t.Fatalf("identity %d changed across restarts: %s, then %s", i, a[i].Nkey, b[i].Nkey)
		}
	}

	// A file that is not a seed is refused with its name.
	bad := natsauth.CredsFile(t.TempDir(), natsauth.RoleReader)
	if err := os.MkdirAll(filepath.Dir(bad), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not a seed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := natsauth.FileOption(bad, natsauth.RoleReader, ""); !errors.Is(err, natsauth.ErrBadCredentials) {
		t.Fatalf("FileOption(garbage) = %v, want ErrBadCredentials", err)
	}
	if _, err := natsauth.EnsureIdentities(filepath.Dir(filepath.Dir(bad))); !errors.Is(err, natsauth.ErrBadCredentials) {
		t.Fatalf("EnsureIdentities over a garbage file = %v, want ErrBadCredentials", err)
	}
}

func TestFileOptionConnects(t *testing.T) {
	ls := startLocked(t)
	opt, err := natsauth.FileOption(natsauth.CredsFile(ls.dataDir, natsauth.RoleReader), natsauth.RoleReader, "")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ls.srv.ClientURL(), opt)
	if err != nil {
		t.Fatalf("connecting with the reader's file: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(t.Context(), schemas.ActivityStream); err != nil {
		t.Fatalf("reader looking up %s: %v", schemas.ActivityStream, err)
	}
}

func TestPermissionsOfUnknownRole(t *testing.T) {
	if _, err := natsauth.Permissions("root", host); !errors.Is(err, natsauth.ErrUnknownRole) {
		t.Fatalf("Permissions(root) = %v, want ErrUnknownRole", err)
	}
	for _, h := range []string{"", "a.b", "*", ">"} {
		if _, err := natsauth.Permissions(natsauth.RoleSensor, h); !errors.Is(err, natsauth.ErrNoHost) {
			t.Errorf("sensor permissions for host %q = %v, want ErrNoHost", h, err)
		}
	}
}

// TestVerifyOnlyAdmin: a verify request makes the node read files, so only the admin role may send it; a
// reader (who may ask for status) and a resolver (who may ask for a rescan) are refused, and the sensor
// may answer it.
func TestVerifyOnlyAdmin(t *testing.T) {
	ls := startLocked(t)
	subject := schemas.ControlSubject(host, schemas.VerbVerify)
	sensor, _ := ls.conn(t, natsauth.RoleSensor)
	sub, err := sensor.Subscribe(subject, func(m *nats.Msg) { _ = m.Respond([]byte("ok")) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := sensor.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, role := range []natsauth.Role{natsauth.RoleReader, natsauth.RoleResolver} {
		nc, errs := ls.conn(t, role)
		publishRefused(t, nc, errs, subject)
	}
	admin, _ := ls.conn(t, natsauth.RoleAdmin)
	if m, err := admin.Request(subject, []byte(`{"host":"`+host+`"}`), refusalWait); err != nil || string(m.Data) != "ok" {
		t.Fatalf("admin asking the sensor to verify: %v, want its answer", err)
	}
}
