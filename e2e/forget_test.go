package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/sensor"
	"github.com/passant/passant/server"
	"github.com/passant/passant/store"
	"github.com/passant/passant/web"
)

// simKey is the key the simulated sensors pseudonymise with (sim.Config's
// default).
const simKey = "passant-sim"

// TestForgetAPerson erases two shoppers of a simulated morning, each
// known only by their phone's MAC address, the way a shop would: A while
// the server runs (passant forget --print-devs, then POST
// /api/sites/{site}/forget), B with the server stopped (passant forget
// --data DIR --journal-today). Afterwards no table holds their pseudonyms
// or their tracks, and neither do the journal files; the server wrote
// nothing of A back, neither from memory when it stopped nor from its
// journal when it started again; everyone else's rows and the hourly
// aggregates remain.
func TestForgetAPerson(t *testing.T) {
	rec := Record(t, "small", busy(53), simFrom, simSpan())
	site := rec.Site.Site
	end := simFrom.Add(simSpan() + time.Hour)
	items := append(append([]Item(nil), rec.Items...), rec.Tail(end)...)
	dir := t.TempDir()
	srv := StartServer(t, server.Config{DataDir: dir, SiteFiles: []string{rec.WriteSite(t, t.TempDir())}})
	pub := NewPublisher(t, srv.Broker, "e2e-sensors")
	if err := pub.Send(context.Background(), site, items, 16); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, site, int64(len(items)), time.Minute)
	ctx := context.Background()
	st := OpenStore(t, "", dir)
	// The observations are stored within a second, the summaries by the
	// next round of housekeeping (every 10 s).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		n, _ := st.CountObservations(ctx, site, 0, end.UnixMilli())
		ds, _ := st.TrackDays(ctx, site, 0, end.UnixMilli())
		if n == rec.Obs && len(ds) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("within a minute %d of %d observations and %d track days were stored", n, rec.Obs, len(ds))
		}
	}

	// Two shoppers: tracks with a store visit named after the pseudonym
	// of a MAC address the simulation used.
	byTrack := map[string][6]byte{}
	for m := range rec.MACs {
		byTrack[store.TrackOf(sensor.DevOf([]byte(simKey), sensor.DefaultRotation, m, simFrom.UnixMilli()))] = m
	}
	visits, err := st.Visits(ctx, site, 0, end.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	var people [][6]byte
	for _, v := range visits {
		if m, ok := byTrack[v.Track]; ok && v.Zone == "store" && v.End-v.Start >= 60_000 && !slices.Contains(people, m) {
			people = append(people, m)
		}
	}
	if len(people) < 2 {
		t.Fatalf("%d shoppers found under their own pseudonym's track among %d visits", len(people), len(visits))
	}
	a, b := people[0], people[1]
	before := counts(t, st, site, end.UnixMilli())
	visitsBefore := map[string]bool{}
	for _, v := range visits {
		visitsBefore[v.Track+" "+v.Zone+" "+strconv.FormatInt(v.Start, 10)] = true
	}
	hoursBefore, err := st.Hours(ctx, site, 0, end.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}

	// A, while the server runs: the command hashes, the API erases.
	out := forgetCmd(t, dir, "--site", site, "--print-devs", "--since", simFrom.AddDate(0, -1, 0).Format(time.DateOnly), macText(a))
	resp, err := http.Post("http://"+srv.HTTP+"/api/sites/"+site+"/forget", "application/json", bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var fa web.Forgotten
	json.NewDecoder(resp.Body).Decode(&fa)
	resp.Body.Close()
	if resp.StatusCode != 200 || fa.Observations == 0 || fa.Visits == 0 || fa.TrackDays == 0 || fa.Tracks == 0 {
		t.Fatalf("POST forget: %d %+v", resp.StatusCode, fa)
	}
	t.Logf("API forgot A: %+v", fa)
	// Today's journal file is open: A's pseudonyms wait there.
	pending := filepath.Join(dir, "journal", site, "forget-pending.json")
	var req web.ForgetRequest
	if b, err := os.ReadFile(pending); err != nil || json.Unmarshal(b, &req) != nil || len(req.Devs) != fa.Devs+fa.Linked {
		t.Fatalf("pending erasures: %v %v (want the %d pseudonyms erased)", err, req.Devs, fa.Devs+fa.Linked)
	}
	erasedA := req.Devs // A's and those linked into A's track
	srv.Stop()          // the runner stores what it holds in memory as it stops
	// A restart takes the pending erasures out of the journal before it
	// recovers from it, and stores what it recovered as it stops.
	StartServer(t, server.Config{DataDir: dir, SiteFiles: []string{rec.WriteSite(t, t.TempDir())}}).Stop()
	if _, err := os.Stat(pending); err == nil {
		t.Errorf("the pending erasures are still there after a restart")
	}

	// A again with the server stopped: nothing came back to the store or
	// the journal.
	again := string(forgetCmd(t, dir, "--site", site, "--journal-today", macText(a)))
	for _, want := range []string{"observations  0 deleted", "positions     0 deleted", "visits        0 deleted", "track_days    0 deleted",
		"journal       0 observations"} {
		if !strings.Contains(again, want) {
			t.Errorf("A came back after the API erased them: want %q in\n%s", want, again)
		}
	}
	// B with the server stopped.
	outB := string(forgetCmd(t, dir, "--site", site, "--journal-today", macText(b)))
	t.Logf("command forgot B:\n%s", outB)
	if strings.Contains(outB, "visits        0 deleted") || strings.Contains(outB, "observations  0 deleted") {
		t.Errorf("B: nothing erased:\n%s", outB)
	}
	for _, text := range []string{string(out), again, outB} {
		for _, m := range [][6]byte{a, b} {
			if len(findings(text, needles(map[[6]byte]struct{}{m: {}}))) > 0 {
				t.Errorf("the command's output names a MAC:\n%s", text)
			}
		}
	}

	// No table holds their pseudonyms or tracks; no file of the data
	// directory holds their pseudonyms or track names as text.
	devs := slices.Clone(erasedA)
	for _, m := range [][6]byte{a, b} {
		ds, err := sensor.Pseudonyms([]byte(simKey), sensor.DefaultRotation, [][6]byte{m}, simFrom.UnixMilli(), end.UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		devs = append(devs, ds...)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, store.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dump, rows := dumpSQLite(t, db)
	for _, d := range devs {
		for _, s := range []string{strconv.FormatInt(int64(d), 10), d.String(), store.TrackOf(d)} {
			if strings.Contains(dump, s) {
				t.Errorf("the database still holds %s (of pseudonym %s)", s, d)
			}
		}
	}
	filepath.WalkDir(filepath.Join(dir, "journal"), func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, _ := os.ReadFile(path)
		for _, d := range devs {
			if bytes.Contains(data, []byte(d.String())) {
				t.Errorf("%s still holds pseudonym %s", path, d)
			}
		}
		return nil
	})

	// Everyone else stays; so do the hours.
	st = OpenStore(t, "", dir)
	after := counts(t, st, site, end.UnixMilli())
	fb := parseCounts(t, outB)
	// The restart recomputed today's summaries from the journal without
	// A: the tracker may group someone else's pseudonyms otherwise, and
	// their summaries differ (new rows, not A's: the scan above). Nothing
	// else goes.
	for table, n := range before {
		erased := map[string]int64{"observations": fa.Observations, "positions": fa.Positions, "visits": fa.Visits, "track_days": fa.TrackDays}[table] + fb[table]
		if after[table] < n-erased {
			t.Errorf("%s: %d rows before, %d erased, %d after: someone else's went", table, n, erased, after[table])
		}
		if after[table] < n/2 {
			t.Errorf("%s: %d of %d rows left", table, after[table], n)
		}
	}
	hs, _ := st.Hours(ctx, site, 0, end.UnixMilli())
	if len(hs) < len(hoursBefore) || len(hs) == 0 {
		t.Errorf("%d hours stored after, %d before: the aggregates stay", len(hs), len(hoursBefore))
	}
	vs, _ := st.Visits(ctx, site, 0, end.UnixMilli())
	for _, v := range vs {
		if !visitsBefore[v.Track+" "+v.Zone+" "+strconv.FormatInt(v.Start, 10)] {
			t.Logf("a visit the restart recomputed: %+v", v)
		}
	}
	t.Logf("%d database rows left; before %v, after %v", rows, before, after)
}

// forgetCmd runs the passant binary's forget with the simulation's key and
// the data directory, and returns its standard output.
func forgetCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(Passant(t), append([]string{"forget", "--data", dir}, args...)...)
	cmd.Env = append(os.Environ(), sensor.EnvSiteKey+"="+simKey)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("passant forget: %v\n%s%s", err, out, stderr.Bytes())
	}
	return out
}

func macText(m [6]byte) string {
	var parts []string
	for _, b := range m {
		parts = append(parts, strconv.FormatUint(uint64(b)|0x100, 16)[1:])
	}
	return strings.Join(parts, ":")
}

// counts are the rows per table of the site that name people.
func counts(t *testing.T, st store.Store, site string, to int64) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	obs, err := st.CountObservations(ctx, site, 0, to)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := st.Positions(ctx, site, 0, to)
	vs, _ := st.Visits(ctx, site, 0, to)
	ds, _ := st.TrackDays(ctx, site, 0, to)
	return map[string]int64{"observations": obs, "positions": int64(len(ps)), "visits": int64(len(vs)), "track_days": int64(len(ds))}
}

// parseCounts reads the per-table counts of passant forget's output.
func parseCounts(t *testing.T, out string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[2] == "deleted" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("output line %q", line)
			}
			m[f[0]] = n
		}
	}
	return m
}
