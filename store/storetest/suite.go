package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// Run runs the conformance suite. open returns a fresh store without a
// schema, closed when the test ends.
func Run(t *testing.T, open func(testing.TB) store.Store) {
	migrated := func(t testing.TB) store.Store {
		t.Helper()
		s := open(t)
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("Schema", func(t *testing.T) { testSchema(t, open(t)) })
	for _, c := range []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Sites", testSites},
		{"SiteFile", testSiteFile},
		{"PlanImage", testPlanImage},
		{"SensorHealth", testSensorHealth},
		{"Observations", testObservations},
		{"ReplaceBatches", testReplaceBatches},
		{"ObservationRetention", testObservationRetention},
		{"ObservationDays", testObservationDays},
		{"Positions", testPositions},
		{"VisitorDevs", testVisitorDevs},
		{"Visits", testVisits},
		{"TrackDays", testTrackDays},
		{"Hours", testHours},
		{"HeatTiles", testHeatTiles},
		{"BulkUpsert", testBulkUpsert},
		{"DeleteDerived", testDeleteDerived},
		{"DeleteDerivedTracks", testDeleteDerivedTracks},
		{"DeleteTrack", testDeleteTrack},
		{"RenameTrack", testRenameTrack},
		{"Forget", testForget},
		{"ForgetChain", testForgetChain},
		{"Transactions", testTransactions},
		{"BadValues", testBadValues},
		{"Calibrations", testCalibrations},
		{"Users", testUsers},
		{"LastAdmin", testLastAdmin},
		{"Tokens", testTokens},
		{"Leases", testLeases},
		{"LeaseRace", testLeaseRace},
		{"Alerts", testAlerts},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, migrated(t)) })
	}
}

func testSchema(t *testing.T, s store.Store) {
	ctx := context.Background()
	have, want, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if have != 0 || want < 1 {
		t.Fatalf("fresh database: version %d, want %d; expected 0 and >= 1", have, want)
	}
	err = s.CheckSchema(ctx)
	if !errors.Is(err, store.ErrStaleSchema) || !strings.Contains(err.Error(), "passant migrate") {
		t.Fatalf("CheckSchema on an empty database = %v, want ErrStaleSchema naming `passant migrate`", err)
	}
	if _, err := s.ListSites(ctx); err == nil {
		t.Fatal("ListSites works without a schema")
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil { // idempotent
		t.Fatalf("second Migrate: %v", err)
	}
	fatalIf(t, s.Ping(ctx))
	inv, err := s.Inventory(ctx)
	fatalIf(t, err)
	if len(inv) != len(store.Tables) || inv[len(inv)-1].Table != "schema_version" || inv[len(inv)-1].Rows != int64(store.SchemaWant()) || inv[0].Rows != 0 {
		t.Fatalf("inventory %+v", inv)
	}
	have, want, err = s.SchemaVersion(ctx)
	if err != nil || have != want {
		t.Fatalf("after Migrate: version %d, want %d, err %v", have, want, err)
	}
	if want != store.SchemaWant() {
		t.Fatalf("want %d, SchemaWant %d", want, store.SchemaWant())
	}
}

// exampleSite is the contract's example site.
const exampleSite = `{"site":"demo","name":"Demo Store","timezone":"Europe/Berlin",
 "bounds":[[-2,-8],[32,22]],
 "plan":{"image":"floor.png","bounds":[[0,0],[30,20]]},
 "open":{"mon-fri":["09:00","20:00"],"sat":["10:00","18:00"]},
 "radio":{"rssi_1m":-45,"exponent":2.5,"offset_5ghz":-6},
 "sensors":[{"id":"s1","x":1,"y":1,"z":2.5},
            {"id":"s2","x":29,"y":1,"z":2.5,"rssi_1m":-47,"exponent":2.3}],
 "zones":[{"id":"street","kind":"outside","polygon":[[-2,-8],[32,-8],[32,0],[-2,0]]},
          {"id":"store","kind":"store","polygon":[[0,0],[30,0],[30,20],[0,20]]},
          {"id":"aisle-1","kind":"area","polygon":[[2,3],[6,3],[6,18],[2,18]]}],
 "footfall":{"visitor_min_dwell_s":60,"visit_gap_s":900,"staff_min_dwell_s":14400}}`

// Site returns the contract's example site with the given id.
func Site(t testing.TB, id string) *wire.Site {
	t.Helper()
	s, err := wire.ParseSite([]byte(exampleSite), false)
	if err != nil {
		t.Fatal(err)
	}
	s.Site = id
	return s
}

func fatalIf(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// RunConcurrentMigrate opens n stores on one database (open returns a new
// handle on the same database each call) and migrates them at once.
func RunConcurrentMigrate(t *testing.T, n int, open func(testing.TB) store.Store) {
	ctx := context.Background()
	errs := make(chan error, n)
	stores := make([]store.Store, n)
	for i := range stores {
		stores[i] = open(t)
	}
	for _, s := range stores {
		go func() { errs <- s.Migrate(ctx) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range stores {
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// RunConcurrentPrune writes several days through one handle and deletes
// them through n handles at once (n instances running retention): every
// observation goes exactly once, and no call fails.
func RunConcurrentPrune(t *testing.T, n int, open func(testing.TB) store.Store) {
	ctx := context.Background()
	stores := make([]store.Store, n)
	for i := range stores {
		stores[i] = open(t)
	}
	var bs []store.RawBatch
	for d := int64(0); d < 5; d++ {
		bs = append(bs, Batches(uint64(d), "demo", 4, 10, 5, Day0+d*dayMs)...)
	}
	fatalIf(t, stores[0].WriteBatches(ctx, bs))
	type result struct {
		n   int64
		err error
	}
	res := make(chan result, n)
	for _, s := range stores {
		go func() {
			m, err := s.DeleteObservationsBefore(ctx, Day0+4*dayMs)
			res <- result{m, err}
		}()
	}
	var total int64
	for range n {
		r := <-res
		fatalIf(t, r.err)
		total += r.n
	}
	if total != 4*4*10 {
		t.Fatalf("deleted %d in all, want 160", total)
	}
	if c, _ := stores[1].CountObservations(ctx, "demo", 0, Day0+9*dayMs); c != 40 {
		t.Fatalf("%d left, want 40", c)
	}
}
