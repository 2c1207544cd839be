package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestClusterSiteChangeReachesHolder edits a site through the instance that
// does not run it (the dashboard may be served by any instance): the
// instance that holds the site's lease applies the new version, and the
// other does not start the site beside it. Before, the edit started the
// site on the instance that took the request, without its lease (stopped
// again at its next lease round), and the holder ran the old version until
// it restarted or lost the lease.
func TestClusterSiteChangeReachesHolder(t *testing.T) {
	ca, cb := clusterPair(t, "pe")
	a := startInstance(t, ca)
	defer a.stop()
	b := startInstance(t, cb)
	defer b.stop()
	eventually(t, "the sites shared two and two", func() bool {
		return len(a.srv.Running()) == 2 && len(b.srv.Running()) == 2
	})

	id := b.srv.Running()[0]
	putTillZone(t, a.srv, a.srv, id)
	// A few lease rounds (a third of 1.5 s each).
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := b.srv.runner(id)
		applied := false
		if r != nil {
			r.mu.Lock()
			applied = r.site.Zone("till") != nil
			r.mu.Unlock()
		}
		if slices.Contains(a.srv.Running(), id) {
			t.Fatalf("a runs %s beside b, which holds its lease", id)
		}
		if applied {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b, which runs %s, has not applied the version a stored (runner %v)", id, r != nil)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// putTillZone reads site id through from and puts it back through to
// with a till area added: a new site version.
func putTillZone(t *testing.T, from, to *Server, id string) {
	t.Helper()
	ctx := context.Background()
	site, _, err := from.Site(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	edited := *site
	edited.Zones = append(slices.Clone(site.Zones), wire.Zone{ID: "till", Kind: wire.ZoneArea,
		Polygon: []wire.Point{{0, 0}, {5, 0}, {5, 5}, {0, 5}}})
	if _, err := to.PutSite(ctx, &edited, "a till area"); err != nil {
		t.Fatal(err)
	}
}
