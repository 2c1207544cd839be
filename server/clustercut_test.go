package server

import (
	"testing"

	"github.com/passant/passant/store/storetest"
)

// TestClusterInstanceCutFromDatabase runs two instances on one PostgreSQL,
// one of them (a) through a proxy that is then cut: a can no longer renew
// its leases, so the other takes every site once they expire; a must give
// its sites up by then, not run them on beside the new holder (two
// pipelines of one site, both storing its figures). Once the database is
// back the two share the sites again.
func TestClusterInstanceCutFromDatabase(t *testing.T) {
	ca, cb := clusterPair(t, "pc")
	var proxy *storetest.Proxy
	ca.DB, proxy = storetest.Proxied(t, ca.DB)
	a := startInstance(t, ca)
	defer a.stop()
	b := startInstance(t, cb)
	defer b.stop()
	eventually(t, "the sites shared two and two", func() bool {
		return len(a.srv.Running()) == 2 && len(b.srv.Running()) == 2
	})

	proxy.Cut()
	eventually(t, "b runs every site", func() bool { return len(b.srv.Running()) == 4 })
	if ra := a.srv.Running(); len(ra) > 0 {
		t.Fatalf("a, cut from the database, still runs %v after b took every site", ra)
	}

	proxy.Restore()
	eventually(t, "the sites shared two and two again", func() bool {
		return len(a.srv.Running()) == 2 && len(b.srv.Running()) == 2
	})
}
