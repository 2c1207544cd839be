package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// TestTLS: with Config.TLS the broker speaks MQTT over TLS, and a client
// that completes no handshake is cut off after connectWait as a silent
// plain one is.
func TestTLS(t *testing.T) {
	defer func(d time.Duration) { connectWait = d }(connectWait)
	connectWait = 300 * time.Millisecond
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	b, err := Start(Config{Addr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, port, _ := net.SplitHostPort(b.Addr())
	c := paho.NewClient(paho.NewClientOptions().AddBroker("ssl://127.0.0.1:" + port).SetClientID("tls").
		SetTLSConfig(&tls.Config{RootCAs: pool}).SetConnectTimeout(5 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect over TLS: %v", tok.Error())
	}
	got := make(chan string, 1)
	c.Subscribe("passant/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }).Wait()
	c.Publish("passant/shop/s1/obs", 1, false, "{}").Wait()
	select {
	case p := <-got:
		if p != "{}" {
			t.Errorf("received %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Error("nothing came back over TLS")
	}
	c.Disconnect(50)
	raw, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := closedByPeer(raw); err != nil {
		t.Errorf("a connection without a TLS handshake: %v", err)
	}
}
