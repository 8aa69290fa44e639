package natsserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/nats-io/nats.go"
)

func TestBeyondLoopbackNeedsTLS(t *testing.T) {
	for _, host := range []string{"0.0.0.0", "::", "192.0.2.1"} {
		_, err := natsserver.Start(t.Context(), natsserver.Config{StoreDir: t.TempDir(), Host: host, Port: natsserver.RandomPort})
		if !errors.Is(err, natsserver.ErrTLSRequired) {
			t.Errorf("Host %s without TLS: err = %v, want ErrTLSRequired", host, err)
		}
	}
	_, err := natsserver.Start(t.Context(), natsserver.Config{StoreDir: t.TempDir(), Port: natsserver.RandomPort, TLS: natsserver.TLSConfig{Cert: "/c.pem"}})
	if !errors.Is(err, natsserver.ErrTLSIncomplete) {
		t.Errorf("a certificate without a key: err = %v, want ErrTLSIncomplete", err)
	}
}

func TestTLSListener(t *testing.T) {
	cert, key := selfSigned(t)
	s := natsservertest.RunServerWith(t, natsserver.Config{StoreDir: t.TempDir(), Host: "0.0.0.0", Port: natsserver.RandomPort,
		TLS: natsserver.TLSConfig{Cert: cert, Key: key}})
	url := "tls://127.0.0.1:" + strconv.Itoa(s.Config().Port)
	if nc, err := nats.Connect(url); err == nil {
		nc.Close()
		t.Fatal("a client that does not trust the certificate connected")
	}
	nc, err := nats.Connect(url, nats.RootCAs(cert))
	if err != nil {
		t.Fatalf("connecting over TLS: %v", err)
	}
	defer nc.Close()
	if !nc.TLSRequired() {
		t.Fatal("the connection is not TLS")
	}
	// In-process connections skip TLS.
	natsservertest.Connect(t, s).Close()
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key, and returns their files.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "factstream test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}
