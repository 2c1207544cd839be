package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passant/passant/wire"
)

// TestForgetUndecodableLine: a journal line that does not decode (bit rot,
// a line torn by a crash, two lines run together) was kept as it was even
// when it held the person's pseudonym, so the erasure left them in the
// journal. Such a line that holds any of the pseudonyms (as a substring,
// quoted or not: the quote may be the byte that went bad) is dropped now;
// an undecodable line without them is kept byte for byte, as is every
// other line. An observation of theirs that the parser drops (a bad rssi)
// goes with its line's rewrite too.
func TestForgetUndecodableLine(t *testing.T) {
	dir := t.TempDir()
	const p, o = wire.Dev(0x1111111111111111), wire.Dev(0x5555555555555555)
	line := func(id int64, rssi float64, devs ...wire.Dev) string {
		b := &wire.Batch{V: 1, Sensor: "s1", Boot: 7, ID: id, Sent: 1796342400000 + id}
		for i, d := range devs {
			b.Obs = append(b.Obs, wire.Observation{T: 1796342400000 + id*10 + int64(i), Dev: d, RSSI: rssi, Ch: 6, Kind: wire.KindProbe, Seq: 12})
		}
		return string(wire.AppendJournalLine(nil, 1796342400100+id, b))
	}
	torn := line(2, -60, o, p)
	torn = torn[:len(torn)-20] // cut by a crash
	rotted := strings.Replace(line(3, -60, p, o), `"`+p.String()+`"`, "\""+p.String()+"\x01", 1)
	noQuote := strings.Replace(line(4, -60, p), `"`+p.String(), `#`+p.String(), 1)
	other := line(5, -60, o)
	otherTorn := other[:len(other)-5]
	badRSSI := strings.Replace(line(6, -60, o), `]}}`, `,{"t":1796342400070,"dev":"`+p.String()+`","rssi":5}]}}`, 1)
	lines := []string{line(1, -60, o), torn, rotted, noQuote, other, otherTorn, badRSSI}
	day := strings.Join(lines, "\n") + "\n"
	name := filepath.Join(dir, "demo", "2026-12-04.jsonl")
	os.MkdirAll(filepath.Dir(name), 0o755)
	if err := os.WriteFile(name, []byte(day), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		if _, _, _, err := wire.ParseLine([]byte(l)); (err != nil) != (i == 1 || i == 2 || i == 3 || i == 5) {
			t.Fatalf("line %d: decodes: %v", i+1, err)
		}
	}
	files, _, err := ForgetInJournal(dir, "demo", []wire.Dev{p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(name)
	if files != 1 || bytes.Contains(got, []byte(p.String())) {
		t.Fatalf("%d files changed; the pseudonym survived:\n%s", files, got)
	}
	kept := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	want := []string{lines[0], lines[4], lines[5], line(6, -60, o)}
	if strings.Join(kept, "\n") != strings.Join(want, "\n") {
		t.Fatalf("journal after:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
