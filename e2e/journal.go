package e2e

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/replay"
	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// Tail returns one empty batch per sensor of the recording, sent at t, that
// continue each sensor's batch ids: they move the server's event time past
// the recording's end, so that everything before it is processed and every
// visit closed, as a replay's end does.
func (r *Recording) Tail(t time.Time) []Item {
	last := map[string]*wire.Batch{}
	for _, it := range r.Items {
		last[it.Sensor] = it.Batch
	}
	var out []Item
	for _, s := range r.Site.Sensors {
		b := &wire.Batch{V: wire.Version, Sensor: s.ID, Sent: t.UnixMilli(), Obs: []wire.Observation{}}
		if l := last[s.ID]; l != nil {
			b.Boot, b.ID = l.Boot, l.ID+1
		}
		out = append(out, Item{Sensor: s.ID, Batch: b, Payload: wire.AppendBatch(nil, b)})
	}
	return out
}

// JournalLines reads a server's journal of site under dataDir.
func JournalLines(t testing.TB, dataDir, site string) []wire.Line {
	t.Helper()
	files, err := ingest.JournalFiles(filepath.Join(dataDir, "journal"), site, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var out []wire.Line
	err = ingest.ReadJournal(files, func(l *wire.Line) error {
		c := *l
		c.Batch.Obs = append([]wire.Observation(nil), l.Batch.Obs...)
		out = append(out, c)
		return nil
	}, func(file string, err error) { t.Errorf("journal %s: bad line: %v", file, err) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ReplayJournal runs `passant replay` over a server's journal of site and
// returns the result and every position as computed.
func ReplayJournal(t testing.TB, dataDir string, site *wire.Site) (*replay.Result, []wire.Position) {
	t.Helper()
	files, err := ingest.JournalFiles(filepath.Join(dataDir, "journal"), site.Site, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var rs []io.Reader
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		rs = append(rs, fh)
	}
	var m merges
	res, err := replay.Run(context.Background(), replay.Config{Site: site, Input: io.MultiReader(rs...),
		OnPosition: m.position, OnMerge: m.merge})
	if err != nil {
		t.Fatal(err)
	}
	return res, m.renamed()
}

// ReplayItems replays items (what the sensors sent) and returns the result
// and every position.
func ReplayItems(t testing.TB, site *wire.Site, items []Item) (*replay.Result, []wire.Position) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "obs.jsonl")
	WriteInput(t, path, items)
	var m merges
	res, err := replay.Run(context.Background(), replay.Config{Site: site, In: path,
		OnPosition: m.position, OnMerge: m.merge})
	if err != nil {
		t.Fatal(err)
	}
	return res, m.renamed()
}

// merges gathers a replay's positions and its tracks' late merges, to give
// the positions as the live server stores them: a merged track's fixes
// given before the merge carry the name of the track it was merged into
// (the server renames them, store.RenameTrack; street joins are the
// report's and rename nothing stored).
type merges struct {
	pos []wire.Position
	ms  []struct {
		from, into string
		before     int // positions given before the merge
	}
}

func (m *merges) position(p wire.Position) { m.pos = append(m.pos, p) }

func (m *merges) merge(from, into string, _ int64) {
	m.ms = append(m.ms, struct {
		from, into string
		before     int
	}{from, into, len(m.pos)})
}

// renamed returns the positions with every merge applied in order (a
// track merged into one that is merged later ends under the last name).
func (m *merges) renamed() []wire.Position {
	for _, g := range m.ms {
		for i := range m.pos[:g.before] {
			if m.pos[i].Track == g.from {
				m.pos[i].Track = g.into
			}
		}
	}
	return m.pos
}

// OpenStore opens a stopped server's store (the embedded one in dataDir
// when url is empty).
func OpenStore(t testing.TB, url, dataDir string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
