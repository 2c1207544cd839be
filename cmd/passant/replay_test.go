package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplaySiteWithFieldsOfItsOwn: a site file with fields another tool
// added (the contract lets a calibration add its own) is replayed, and
// stderr names each field ignored, so that a typo is seen.
func TestReplaySiteWithFieldsOfItsOwn(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	site := `{"site":"a","bounds":[[0,0],[20,12]],"radio":{"rssi_1m":-45,"expnent":2.5},"fitted_by":"other-tool",
	 "sensors":[{"id":"s1","x":1,"y":1,"z":2.5,"residual_db":1.2},{"id":"s2","x":19,"y":1,"z":2.5}],
	 "zones":[{"id":"store","kind":"store","polygon":[[0,0],[20,0],[20,12],[0,12]]}]}`
	os.WriteFile(p("site.json"), []byte(site), 0o644)
	os.WriteFile(p("obs.jsonl"), []byte(`{"v":1,"sensor":"s1","boot":"b","id":1,"sent":1764850001000,"obs":[{"t":1764850000500,"dev":"3f9a0c1d2e4b5a69","rssi":-60}]}`+"\n"), 0o644)
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"replay", "--site", p("site.json"), "--in", p("obs.jsonl"),
		"--positions", p("pos.jsonl"), "--report", p("report.json"), "--progress=false"}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, f := range []string{"fitted_by", "radio.expnent", "sensors[0].residual_db"} {
		if !strings.Contains(errb.String(), f) {
			t.Errorf("stderr does not name %s:\n%s", f, errb.String())
		}
	}
	if _, err := os.Stat(p("report.json")); err != nil {
		t.Errorf("no report: %v", err)
	}
}
