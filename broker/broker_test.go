package broker

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func connect(t *testing.T, url, id, user, pass string) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(o)
	tok := c.Connect()
	tok.Wait()
	return c, tok.Error()
}

func TestSensorsPublishOnlyUnderTheirOwnTopic(t *testing.T) {
	b, err := Start(Config{Addr: "127.0.0.1:0", Authenticate: func(user string, pass []byte) (Identity, bool) {
		switch {
		case user == "server" && string(pass) == "s3cret":
			return Identity{Server: true}, true
		case user == "shop/s1" && string(pass) == "pw1":
			return Identity{Site: "shop", Sensor: "s1"}, true
		}
		return Identity{}, false
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	if _, err := connect(t, b.URL(), "x", "shop/s1", "wrong"); err == nil {
		t.Fatal("wrong password accepted")
	}
	srv, err := connect(t, b.URL(), "srv", "server", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Disconnect(50)
	var mu sync.Mutex
	var got []string
	tok := srv.Subscribe("passant/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		got = append(got, m.Topic())
		mu.Unlock()
	})
	tok.Wait()
	// A sensor that publishes outside its own topics is cut off, and what it
	// sent there goes nowhere.
	for i, topic := range []string{"passant/shop/s2/obs", "passant/other/s1/obs", "passant/shop/s1/obs", "passant/shop/s1/status"} {
		s1, err := connect(t, b.URL(), fmt.Sprint("s1-", i), "shop/s1", "pw1")
		if err != nil {
			t.Fatal(err)
		}
		s1.Publish(topic, 1, false, []byte("{}")).WaitTimeout(time.Second)
		s1.Disconnect(50)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	// Two publishers one after the other: the broker may hand their
	// messages on in either order.
	slices.Sort(got)
	if len(got) != 2 || got[0] != "passant/shop/s1/obs" || got[1] != "passant/shop/s1/status" {
		t.Fatalf("server received %v", got)
	}
}

func TestAddrInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Start(Config{Addr: l.Addr().String()})
	if !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("got %v, want ErrAddrInUse", err)
	}
}
