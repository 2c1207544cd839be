package sensor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/passant/passant/wire"
)

// testCA makes a CA and a server certificate for 127.0.0.1, writes them
// as PEM files into dir, and returns the CA pool.
func testCA(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "passant test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", der)
	write("server.key", "EC PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// TestPublisherTLSAndPassword publishes to a private mosquitto that takes
// only TLS and a user name with a password.
func TestPublisherTLSAndPassword(t *testing.T) {
	mqttURL(t)
	passwd, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Skip("mosquitto_passwd not installed")
	}
	var pool *x509.CertPool
	br := startBrokerWith(t, func(port int, dir string) string {
		pool = testCA(t, dir)
		pw := filepath.Join(dir, "passwd")
		if out, err := exec.Command(passwd, "-c", "-b", pw, "sensor-s1", "s3cret").CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v %s", err, out)
		}
		return fmt.Sprintf("listener %d 127.0.0.1\ncafile %[2]s/ca.pem\ncertfile %[2]s/server.pem\nkeyfile %[2]s/server.key\n"+
			"allow_anonymous false\npassword_file %s\n", port, dir, pw)
	})
	url := fmt.Sprintf("ssl://127.0.0.1:%d", br.port)
	tlsConf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}

	got := make(chan int64, 100)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("tls-sub").
		SetTLSConfig(tlsConf).SetUsername("sensor-s1").SetPassword("s3cret"))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	tok := sub.Subscribe("passant/shop/s1/obs", 1, func(_ mqtt.Client, m mqtt.Message) {
		b, _, err := wire.ParseBatch(m.Payload())
		if err != nil {
			t.Errorf("bad batch: %v", err)
		}
		got <- b.ID
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	p, err := NewPublisher(PublisherConfig{Log: quietLog, Broker: url, Site: "shop", Sensor: "s1", TLS: tlsConf,
		Username: "sensor-s1", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 20; i++ {
		p.Publish(testBatch("s1", i))
	}
	for i := int64(1); i <= 20; i++ {
		select {
		case id := <-got:
			if id != i {
				t.Fatalf("batch %d arrived as number %d", id, i)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("batch %d never arrived over TLS", i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// A wrong password gets nothing through; the batches stay queued.
	bad, err := NewPublisher(PublisherConfig{Log: quietLog, Broker: url, Site: "shop", Sensor: "s2", TLS: tlsConf,
		Username: "sensor-s1", Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	bad.Publish(testBatch("s2", 1))
	time.Sleep(500 * time.Millisecond)
	if s := bad.Status("online"); s.Published != 0 || s.Queued != 1 {
		t.Fatalf("with a wrong password: %+v", s)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	bad.Close(ctx2)
}
