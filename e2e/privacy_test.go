package e2e

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	_ "modernc.org/sqlite"

	"github.com/passant/passant/server"
	"github.com/passant/passant/store"
)

// macForm matches anything written like a MAC address.
var macForm = regexp.MustCompile(`(?i)\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b|\b[0-9a-f]{2}(-[0-9a-f]{2}){5}\b`)

var hexRun = regexp.MustCompile(`[0-9a-f]{12,}`)

// needles are the simulation's MACs as bare hex, and the unkeyed MD5, SHA-1
// and SHA-256 of each (over the 6 bytes, and over the text forms).
func needles(macs map[[6]byte]struct{}) map[string]string {
	out := map[string]string{}
	for m := range macs {
		bare := hex.EncodeToString(m[:])
		name := bare
		out[bare] = "MAC " + name
		forms := [][]byte{m[:], []byte(bare), []byte(strings.ToUpper(bare))}
		for _, sep := range []string{":", "-"} {
			var parts []string
			for _, b := range m {
				parts = append(parts, fmt.Sprintf("%02x", b))
			}
			s := strings.Join(parts, sep)
			forms = append(forms, []byte(s), []byte(strings.ToUpper(s)))
		}
		for _, f := range forms {
			a, b, c := md5.Sum(f), sha1.Sum(f), sha256.Sum256(f)
			out[hex.EncodeToString(a[:])] = "MD5 of MAC " + name
			out[hex.EncodeToString(b[:])] = "SHA-1 of MAC " + name
			out[hex.EncodeToString(c[:])] = "SHA-256 of MAC " + name
		}
	}
	return out
}

// scan reports what in text looks like a MAC or is one of the needles.
func scan(t *testing.T, where, text string, ns map[string]string) {
	t.Helper()
	for i, f := range findings(text, ns) {
		if i == 5 {
			t.Errorf("%s: and more", where)
			break
		}
		t.Errorf("%s: %s", where, f)
	}
}

func findings(text string, ns map[string]string) []string {
	var out []string
	for _, m := range macForm.FindAllString(text, 3) {
		out = append(out, fmt.Sprintf("MAC-like text %q", m))
	}
	lower := strings.ToLower(text)
	for _, run := range hexRun.FindAllString(lower, -1) {
		for _, n := range []int{12, 32, 40, 64} {
			for i := 0; i+n <= len(run); i++ {
				if what, ok := ns[run[i:i+n]]; ok {
					out = append(out, fmt.Sprintf("%s (%s)", what, run[i:i+n]))
				}
			}
		}
	}
	return out
}

// binary finds the raw 6 bytes of a MAC in data.
func binary(t *testing.T, where string, data []byte, macs map[[6]byte]struct{}) {
	t.Helper()
	for i := 0; i+6 <= len(data); i++ {
		var k [6]byte
		copy(k[:], data[i:i+6])
		if _, ok := macs[k]; ok {
			t.Errorf("%s: raw MAC bytes at offset %d", where, i)
			return
		}
	}
}

// TestPrivacyNoMACAnywhere runs a busy simulated shop through the server
// over MQTT and scans every MQTT payload, every log line, every table of the
// database, every file in the data directory and the main HTTP responses
// for a MAC address, or an unkeyed MD5, SHA-1 or SHA-256 of one of the MACs
// the simulation used: there must be none.
func TestPrivacyNoMACAnywhere(t *testing.T) {
	rec := Record(t, "small", busy(51), simFrom, simSpan())
	if len(rec.MACs) < 50 {
		t.Fatalf("only %d MACs recorded from the simulation", len(rec.MACs))
	}
	ns := needles(rec.MACs)
	// The scanner finds what it looks for.
	var some [6]byte
	for m := range rec.MACs {
		some = m
		break
	}
	sum := sha256.Sum256([]byte(hex.EncodeToString(some[:])))
	for _, planted := range []string{`{"dev":"` + hex.EncodeToString(some[:]) + `"}`, "x " + hex.EncodeToString(sum[:]),
		"mac=" + strings.ToUpper(fmt.Sprintf("%x", some[:1])) + ":00:11:22:33:44"} {
		if len(findings(planted, ns)) == 0 {
			t.Fatalf("the scanner misses %q", planted)
		}
	}
	site := rec.Site.Site
	dir := t.TempDir()
	srv := StartServer(t, server.Config{DataDir: dir, SiteFiles: []string{rec.WriteSite(t, t.TempDir())}})

	// Everything that crosses the broker.
	var mu sync.Mutex
	var payloads []string
	sniff := paho.NewClient(paho.NewClientOptions().AddBroker(srv.Broker).SetClientID("e2e-sniffer"))
	if tok := sniff.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sniff.Disconnect(100)
	if tok := sniff.Subscribe("#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		payloads = append(payloads, m.Topic()+" "+string(m.Payload()))
		mu.Unlock()
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub := NewPublisher(t, srv.Broker, "e2e-sensors")
	items := append(append([]Item(nil), rec.Items...), rec.Tail(simFrom.Add(simSpan()+time.Hour))...)
	if err := pub.Send(context.Background(), site, items, 16); err != nil {
		t.Fatal(err)
	}
	srv.WaitBatches(t, site, int64(len(items)), time.Minute)
	time.Sleep(200 * time.Millisecond)

	from, to := Day(rec.Site, simFrom)
	base := "http://" + srv.HTTP
	for _, path := range []string{"/", "/healthz", "/metrics", "/api/sites", "/api/sites/" + site,
		"/api/sites/" + site + "/sensors", "/api/sites/" + site + "/live",
		fmt.Sprintf("/api/sites/%s/report?from=%d&to=%d", site, from, to),
		fmt.Sprintf("/api/sites/%s/report.csv?from=%d&to=%d", site, from, to),
		fmt.Sprintf("/api/sites/%s/heatmap?from=%d&to=%d", site, from, to),
		"/api/chain", "/api/me"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Logf("GET %s: %s", path, resp.Status)
		}
		scan(t, "GET "+path, string(body), ns)
	}
	srv.Stop()

	mu.Lock()
	if len(payloads) < len(items) {
		t.Errorf("sniffed %d MQTT messages, %d batches were sent", len(payloads), len(items))
	}
	scan(t, "MQTT", strings.Join(payloads, "\n"), ns)
	mu.Unlock()
	scan(t, "log", srv.Logs.String(), ns)

	// Every table of the embedded database, as text.
	db, err := sql.Open("sqlite", filepath.Join(dir, store.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables, rows := dumpSQLite(t, db)
	if rows == 0 || !strings.Contains(tables, "observations") {
		t.Fatalf("database dump is empty (%d rows)", rows)
	}
	scan(t, "database", tables, ns)
	// Every file the server wrote: database, WAL, journal.
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		scan(t, rel, string(data), ns)
		binary(t, rel, data, rec.MACs)
		return nil
	})
	t.Logf("%d MACs (%d needles) looked for in %d MQTT messages, %d log bytes, %d database rows, the data directory and 12 HTTP responses",
		len(rec.MACs), len(ns), len(payloads), len(srv.Logs.String()), rows)
}

// dumpSQLite returns every row of every table as text.
func dumpSQLite(t *testing.T, db *sql.DB) (string, int) {
	t.Helper()
	names, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for names.Next() {
		var n string
		names.Scan(&n)
		tables = append(tables, n)
	}
	names.Close()
	var b strings.Builder
	total := 0
	for _, tab := range tables {
		rows, err := db.Query(`SELECT * FROM "` + tab + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		fmt.Fprintf(&b, "== %s %v\n", tab, cols)
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					fmt.Fprintf(&b, "%s\t%x\t", v, v)
				default:
					fmt.Fprintf(&b, "%v\t", v)
				}
			}
			b.WriteByte('\n')
			total++
		}
		rows.Close()
	}
	return b.String(), total
}
