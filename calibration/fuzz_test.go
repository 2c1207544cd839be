package calibration

import (
	"bytes"
	"testing"
)

func FuzzReadWalk(f *testing.F) {
	f.Add([]byte(`{"t":1764850000000,"dev":"3f9a0c1d2e4b5a69","x":3.5,"y":7.25}` + "\n" + `{"t":1764850004000,"track":"k1","x":4,"y":8}`))
	f.Add([]byte("\n\n{\"t\":1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		marks, err := ReadWalk(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, m := range marks {
			if (m.Dev == nil) == (m.Track == "") || m.T <= 0 {
				t.Fatalf("accepted a bad mark %+v", m)
			}
		}
		if len(marks) > 0 {
			w, err := NewWalk(marks, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range marks {
				if _, _, seg, ok := w.At(markKey(&m), m.T); !ok || seg < 0 || seg >= 3 {
					t.Fatalf("a mark's own time is not on the walk: %+v", m)
				}
			}
		}
	})
}

func FuzzParseAnchors(f *testing.F) {
	f.Add([]byte(`{"anchors":[{"dev":"00000000000000a1","id":"printer","x":3,"y":4,"z":1,"tx_db":2}]}`))
	f.Add([]byte(`[{"dev":"00000000000000a1","x":1,"y":1,"z":2.5}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		as, err := ParseAnchors(data)
		if err != nil {
			return
		}
		seen := map[uint64]bool{}
		for _, a := range as {
			if seen[uint64(a.Dev)] || a.Z < 0 {
				t.Fatalf("accepted %+v", as)
			}
			seen[uint64(a.Dev)] = true
		}
	})
}
