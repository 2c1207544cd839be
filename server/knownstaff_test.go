package server

import (
	"context"
	"slices"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

// TestKnownStaffReadDoesNotHoldIngest makes the store's read of the
// earlier days' staff (refreshKnownStaff) wait on a lock that another
// transaction holds on the track days, as a database that hangs would:
// the site's batches go on being processed meanwhile, and once the lock
// is gone the read completes.
func TestKnownStaffReadDoesNotHoldIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a shop through MQTT: not in -short")
	}
	skipNearMidnight(t)
	db := storetest.PostgresURL(t)
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5, ShoppersPerHour: 120, PassersPerHour: 400})
	site := shop.Site()
	srv, _, stop := startSite(t, site, Config{DB: db, Migrate: true})
	defer stop()
	type sent struct {
		sensor string
		b      *wire.Batch
	}
	var early, late []sent
	now := time.Now()
	simtest.Run(t, shop, now.Add(-10*time.Minute), now, nil, func(sensor string, b *wire.Batch) error {
		if time.UnixMilli(b.Sent).Before(now.Add(-5 * time.Minute)) {
			early = append(early, sent{sensor, b})
		} else {
			late = append(late, sent{sensor, b})
		}
		return nil
	})
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(srv.BrokerURL()).SetClientID("test-sensors"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	publish := func(bs []sent) {
		t.Helper()
		for _, s := range bs {
			tok := pub.Publish(wire.Topic("passant", site.Site, s.sensor, "obs"), 1, false, wire.AppendBatch(nil, s.b))
			if tok.Wait(); tok.Error() != nil {
				t.Fatal(tok.Error())
			}
		}
	}
	r := srv.runner(site.Site)
	known := func() string {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.staff.day
	}
	publish(early)
	eventually(t, "the first half processed", func() bool { return processed(r) == int64(len(early)) })
	today := now.In(site.Location()).Format(time.DateOnly)
	eventually(t, "the earlier days' staff read", func() bool { return known() == today })

	// Another transaction holds the track days: the store's reads of them wait.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE track_days IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.staff.day = "" // read them again
	r.mu.Unlock()
	time.Sleep(time.Second) // a few ticks: the read has begun, and waits
	if known() != "" {
		t.Fatal("the earlier days' staff read with the track days locked")
	}
	publish(late)
	eventually(t, "the second half processed while the read waits", func() bool {
		return processed(r) == int64(len(early)+len(late))
	})
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the earlier days' staff read once the lock is gone", func() bool { return known() == today })
}

// TestKnownStaffFromMemory checks that the earlier days' staff include the
// days the runner still holds and has not handed to the writer yet (it does
// every 10 s): the demo works through a week of history in about 20 s, so
// at the first fix of today yesterday may be in the counter only. A device
// in the store from 09:00 to 14:00 yesterday, given to the counter and not
// stored, is known staff today.
func TestKnownStaffFromMemory(t *testing.T) {
	shop := simtest.Shop(t, "small", sim.Config{Seed: 5})
	site := shop.Site()
	srv, _, stop := startSite(t, site, Config{})
	defer stop()
	r := srv.runner(site.Site)
	loc := site.Location()
	y, m, d := time.Now().In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	yesterday := time.Date(y, m, d-1, 9, 0, 0, 0, loc)
	var store wire.Zone
	for _, z := range site.Zones {
		if z.Kind == wire.ZoneStore {
			store = z
		}
	}
	var cx, cy float64
	for _, p := range store.Polygon {
		cx, cy = cx+p[0]/float64(len(store.Polygon)), cy+p[1]/float64(len(store.Polygon))
	}
	r.mu.Lock()
	for at := yesterday; at.Before(yesterday.Add(5 * time.Hour)); at = at.Add(time.Minute) {
		r.counter.Add(wire.Position{T: at.UnixMilli(), Track: "kprinter", X: cx, Y: cy, Err: 0.5, PStore: 1, N: 3})
	}
	r.mu.Unlock()
	staff, err := r.earlierStaff(context.Background(), site, time.Date(y, m, d-knownStaffDays, 0, 0, 0, 0, loc).UnixMilli(), today.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(staff["kprinter"], yesterday.Format(time.DateOnly)) {
		t.Errorf("a device in the store for 5 h yesterday, held by the counter, is not known staff: %v", staff)
	}
}
