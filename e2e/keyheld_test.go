package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/passant/passant/sensor"
	"github.com/passant/passant/server"
	"github.com/passant/passant/web"
)

// TestSensorsViewShowsKeyHeld: a sensor holding only an epoch key on a
// clock that is not synchronised drops the frames past its key's epoch
// and says so in its status ("beyond_key", "clock_trusted"); the server
// passes both to the sensors view, whose row says the sensor is dropping
// frames. Before, the server kept only the contract's fields and "tx".
func TestSensorsViewShowsKeyHeld(t *testing.T) {
	rec := Record(t, "small", busy(1), simFrom, time.Minute)
	site := rec.Site.Site
	srv := StartServer(t, server.Config{SiteFiles: []string{rec.WriteSite(t, t.TempDir())}})
	held, trusted := uint64(4711), false
	pub, err := sensor.NewPublisher(sensor.PublisherConfig{Broker: srv.Broker, Site: site, Sensor: "s1", Version: "test",
		Status: func(s *sensor.Status) { s.BeyondKey, s.ClockTrusted = &held, &trusted }})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.Background())
	deadline := time.Now().Add(30 * time.Second)
	for {
		var hs []web.SensorHealth
		GetJSON(t, "http://"+srv.HTTP+"/api/sites/"+site+"/sensors", &hs)
		var s1 *web.SensorHealth
		for i := range hs {
			if hs[i].ID == "s1" {
				s1 = &hs[i]
			}
		}
		if s1 != nil && s1.Version == "test" {
			if s1.BeyondKey != held || s1.ClockTrusted == nil || *s1.ClockTrusted {
				t.Fatalf("s1: beyond_key %d, clock_trusted %v; want %d and false", s1.BeyondKey, s1.ClockTrusted, held)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status of s1 in the sensors view: %+v", hs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
