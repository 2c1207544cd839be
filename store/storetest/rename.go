package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/passant/passant/store"
	"github.com/passant/passant/wire"
)

// testRenameTrack: a merged track's stored fixes within the merge's span
// take the surviving track's name; the same name outside the span (a later
// track of the same pseudonym), other tracks and other sites keep theirs.
func testRenameTrack(t *testing.T, s store.Store) {
	ctx := context.Background()
	ps := []wire.Position{
		{T: Day0 - 10, Track: "ka", Dev: 1},        // before the span
		{T: Day0, Track: "ka", Dev: 1},             // the span's start (inclusive)
		{T: Day0 + 5, Track: "kb", Dev: 2},         // another track
		{T: Day0 + dayMs - 1, Track: "ka", Dev: 3}, // the first day's end
		{T: Day0 + dayMs + 7, Track: "ka", Dev: 3}, // the next day (another partition)
		{T: Day0 + dayMs + 9, Track: "ka", Dev: 3}, // the span's end (inclusive)
		{T: Day0 + 2*dayMs, Track: "ka", Dev: 1},   // a later track of the same name
	}
	for _, site := range []string{"demo", "other"} {
		fatalIf(t, s.WritePositions(ctx, site, ps))
	}
	fatalIf(t, s.RenameTrack(ctx, "demo", "ka", "kb", Day0, Day0+dayMs+9))
	fatalIf(t, s.RenameTrack(ctx, "demo", "kz", "kb", Day0, Day0+dayMs+9)) // no fixes: no error
	for _, c := range []struct{ site, tracks string }{
		{"demo", "ka kb kb kb kb kb ka"},
		{"other", "ka ka kb ka ka ka ka"},
	} {
		got, err := s.Positions(ctx, c.site, 0, Day0+3*dayMs)
		fatalIf(t, err)
		var tracks []string
		for i, p := range got {
			tracks = append(tracks, p.Track)
			if p.T != ps[i].T || p.Dev != ps[i].Dev {
				t.Fatalf("%s: fix %d is at %d of %d, want %d of %d", c.site, i, p.T, p.Dev, ps[i].T, ps[i].Dev)
			}
		}
		if strings.Join(tracks, " ") != c.tracks {
			t.Fatalf("%s: fixes of %v, want %s", c.site, tracks, c.tracks)
		}
	}
}
