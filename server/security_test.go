package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/wire"
)

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// TestEmbeddedBrokerLoginsAndAlertWebhook runs serve with the embedded
// broker's users file and an alert webhook: a sensor logs in and its
// batches count, a wrong password is refused, a batch published under
// another sensor's topic never reaches the server, and an alert goes to the
// webhook.
func TestEmbeddedBrokerLoginsAndAlertWebhook(t *testing.T) {
	dir := t.TempDir()
	site := testSiteFile(t, dir, "shop")
	users := fmt.Sprintf(`{"users":[{"user":"shop-a","password_sha256":%q,"site":"shop","sensor":"a"}]}`, sha("pw-a"))
	usersPath := filepath.Join(dir, "users.json")
	os.WriteFile(usersPath, []byte(users), 0o600)

	hooks := make(chan map[string]any, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		json.NewDecoder(r.Body).Decode(&v)
		hooks <- v
	}))
	defer hook.Close()

	ready := make(chan struct{})
	srv, err := New(Config{HTTP: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", SiteFiles: []string{site}, DataDir: dir,
		BrokerUsers: usersPath, AlertWebhook: hook.URL, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ready: func(string, string) { close(ready) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-ready
	url := srv.broker.URL()

	connect := func(id, user, pass string) (paho.Client, error) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass))
		tok := c.Connect()
		tok.Wait()
		return c, tok.Error()
	}
	if _, err := connect("bad", "shop-a", "wrong"); err == nil {
		t.Fatal("a wrong password was let in")
	}
	batch := func(sensor string, id int64) []byte {
		now := time.Now().UnixMilli()
		return wire.AppendBatch(nil, &wire.Batch{V: 1, Sensor: sensor, Boot: 1, ID: id, Sent: now,
			Obs: []wire.Observation{{T: now, Dev: 7, RSSI: -60, Seq: int(id)}}})
	}
	// Under another sensor's topic (naming that sensor, so only the ACL can
	// stop it): the broker drops it and cuts the client off.
	c, err := connect("a-1", "shop-a", "pw-a")
	if err != nil {
		t.Fatal(err)
	}
	c.Publish(wire.Topic("passant", "shop", "b", "obs"), 1, false, batch("b", 1)).WaitTimeout(time.Second)
	c.Disconnect(50)
	c, err = connect("a-2", "shop-a", "pw-a")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(50)
	if tok := c.Publish(wire.Topic("passant", "shop", "a", "obs"), 1, false, batch("a", 1)); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	eventually(t, "the own batch taken", func() bool { return srv.sub.C.Accepted.Load() == 1 })
	time.Sleep(200 * time.Millisecond)
	if n := srv.sub.C.Messages.Load(); n != 1 {
		t.Fatalf("the server saw %d batches, want only sensor a's own", n)
	}

	// Sensor b says it goes offline: an alert, and the webhook hears of it.
	c.Disconnect(50)
	srv.status("shop", "b", statusOffline())
	srv.checkAlerts(ctx, srv.runner("shop"))
	select {
	case v := <-hooks:
		a, _ := v["alert"].(map[string]any)
		if v["event"] != "raised" || a["sensor"] != "b" || a["kind"] != "offline" {
			t.Fatalf("webhook got %v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the webhook heard nothing")
	}
}

func statusOffline() ingest.Status { return ingest.Status{V: 1, State: "offline"} }
