package store_test

import (
	"context"
	"fmt"
	"os"

	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// Open the embedded store in a data directory, create its schema, keep a
// site and a batch, and read the batch back for a re-processing.
func Example() {
	dir, _ := os.MkdirTemp("", "passant-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := store.Open(ctx, "", dir) // or "postgres://..." for PostgreSQL
	if err != nil {
		panic(err)
	}
	defer s.Close()
	if err := s.CheckSchema(ctx); err != nil {
		fmt.Println("before migrating:", err != nil)
	}
	if err := s.Migrate(ctx); err != nil {
		panic(err)
	}

	site, _ := wire.ParseSite([]byte(`{"site":"demo","bounds":[[0,0],[10,10]],
		"sensors":[{"id":"s1","x":1,"y":1,"z":2.5}],
		"zones":[{"id":"store","kind":"store","polygon":[[0,0],[10,0],[10,10],[0,10]]}]}`), false)
	v, _ := s.SaveSite(ctx, site, store.SourceAPI, "first plan")
	fmt.Println("site version", v.Version)

	dev, _ := wire.ParseDev("3f9a0c1d2e4b5a69")
	b := store.RawBatch{Site: "demo", Recv: 1764850000150, Batch: wire.Batch{V: 1, Sensor: "s1", Boot: 1764849000000, ID: 1,
		Sent: 1764850000123, Obs: []wire.Observation{{T: 1764850000001, Dev: dev, RSSI: -67, Ch: 6, Kind: wire.KindProbe, Seq: 1234}}}}
	if err := s.WriteBatches(ctx, []store.RawBatch{b}); err != nil {
		panic(err)
	}
	s.ScanBatches(ctx, "demo", 1764849600000, 1764853200000, func(b *store.RawBatch) error {
		fmt.Println("batch", b.Batch.Sensor, b.Batch.ID, "received", b.Recv, "with", len(b.Batch.Obs), "observation of", b.Batch.Obs[0].Dev)
		return nil
	})
	// Output:
	// before migrating: true
	// site version 1
	// batch s1 1 received 1764850000150 with 1 observation of 3f9a0c1d2e4b5a69
}
