package server

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/store/storetest"
)

// TestClusterInstanceCutFromDatabase runs two instances on one PostgreSQL,
// one of them (a) through a proxy that is then cut: a can no longer renew
// its leases, so the other takes every site once they expire; a must give
// its sites up by then, not run them on beside the new holder (two
// pipelines of one site, both storing its figures). Once the database is
// back the two share the sites again.
func TestClusterInstanceCutFromDatabase(t *testing.T) {
	mqttURL := os.Getenv("PASSANT_TEST_MQTT")
	if mqttURL == "" || os.Getenv("PASSANT_TEST_POSTGRES") == "" {
		t.Skip("set PASSANT_TEST_MQTT and PASSANT_TEST_POSTGRES to run")
	}
	dbURL := storetest.PostgresURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := storetest.StartProxy(t, u.Host)
	u.Host = proxy.Addr
	dir := t.TempDir()
	prefix := fmt.Sprintf("pc%d", time.Now().UnixNano())
	var files []string
	for _, id := range []string{"shop1", "shop2", "shop3", "shop4"} {
		files = append(files, testSiteFile(t, dir, id))
	}
	base := Config{HTTP: "127.0.0.1:0", MQTT: mqttURL, Prefix: prefix, Migrate: true,
		Cluster: true, LeaseTTL: 1500 * time.Millisecond}
	ca := base
	ca.Instance, ca.SiteFiles, ca.DataDir, ca.ClientID, ca.DB = "a", files, filepath.Join(dir, "a"), prefix+"-a", u.String()
	a := startInstance(t, ca)
	defer a.stop()
	cb := base
	cb.Instance, cb.DataDir, cb.ClientID, cb.DB = "b", filepath.Join(dir, "b"), prefix+"-b", dbURL
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
