package footfall

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParsePOSCSV(t *testing.T) {
	utc := time.UTC
	base := time.Date(2026, 12, 4, 14, 3, 0, 0, berlin).UnixMilli()
	cases := []struct {
		name string
		in   string
		want []Transaction
	}{
		{"header, ISO local, amount", "timestamp,amount\n2026-12-04 14:03:00,12.50\n2026-12-04T14:03:00,3\n",
			[]Transaction{{T: base, Amount: 12.5, HasAmount: true}, {T: base, Amount: 3, HasAmount: true}}},
		{"ISO with zone", "time\n2026-12-04T13:03:00Z\n2026-12-04T14:03:00+01:00\n2026-12-04 14:03:00.250+0100\n",
			[]Transaction{{T: base}, {T: base}, {T: base + 250}}},
		{"no header, Unix seconds and ms", fmt.Sprintf("%d,9.99\n%d\n%d.5,1\n", base/1000, base, base/1000),
			[]Transaction{{T: base, Amount: 9.99, HasAmount: true}, {T: base}, {T: base + 500, Amount: 1, HasAmount: true}}},
		{"other columns, by name, BOM, CRLF", "\ufeffStore;Receipt ID;Created_At;Total\r\nB1;r-1;2026-12-04 14:03;1.234,50 €\r\nB1;r-2;2026-12-04 14:03;\r\n",
			[]Transaction{{T: base, Amount: 1234.5, HasAmount: true, ID: "r-1"}, {T: base, ID: "r-2"}}},
		{"quoted amount with thousands", "date,amount\n2026-12-04 14:03,\"1,234.50\"\n",
			[]Transaction{{T: base, Amount: 1234.5, HasAmount: true}}},
		{"date and time columns, German", "Datum;Uhrzeit;Betrag;Bon-Nr\n04.12.2026;14:03:00;12,50;77\n04.12.2026;14:03;;78\n",
			[]Transaction{{T: base, Amount: 12.5, HasAmount: true, ID: "77"}, {T: base, ID: "78"}}},
		{"date and time columns", "Date,Time,Total\n2026/12/04,14:03:00,3\n",
			[]Transaction{{T: base, Amount: 3, HasAmount: true}}},
		{"empty", "", []Transaction{}},
		{"header only", "timestamp,amount\n", []Transaction{}},
	}
	for _, c := range cases {
		got, err := ParsePOSCSV(strings.NewReader(c.in), berlin)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
	// No zone: local to loc.
	got, err := ParsePOSCSV(strings.NewReader("2026-12-04 14:03:00\n"), utc)
	if err != nil || got[0].T != time.Date(2026, 12, 4, 14, 3, 0, 0, utc).UnixMilli() {
		t.Errorf("UTC: %v %v", got, err)
	}
}

func TestParsePOSCSVErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"timestamp,amount\n2026-12-04 14:03:00,12.50\nyesterday,3\n", `line 3, column 1 (timestamp): "yesterday" is not a time`},
		{"when,amount\n2026-12-04 14:03:00,abc\n", `line 2, column 2 (amount): "abc" is not an amount`},
		{"date,time\n2026-12-04,noon\n", `line 2, column 1 (date) and column 2 (time): "2026-12-04 noon" is not a time`},
		{"shop,amount\nx,1\n", `line 1: no timestamp column`},
		{"amount,timestamp\n1\n", `line 2, column 2 (timestamp): missing`},
		{"timestamp\n\"2026-12-04\n", `line 2, column`},
		{"timestamp\n-5\n", `line 2, column 1 (timestamp)`},
		{"timestamp\n99999999999999999999\n", `not a Unix time`},
	}
	for _, c := range cases {
		_, err := ParsePOSCSV(strings.NewReader(c.in), berlin)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want an error containing %q", c.in, err, c.want)
		}
	}
}

func FuzzParsePOSCSV(f *testing.F) {
	for _, s := range []string{
		"timestamp,amount\n2026-12-04 14:03:00,12.50\n",
		"1764850000,3\n1764850000123\n",
		"Receipt;Created_At;Total\nr;2026-12-04T14:03:00+01:00;1.234,50\n",
		"time\n\"a\"\"b\"\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		txns, err := ParsePOSCSV(strings.NewReader(in), berlin)
		if err != nil {
			if txns != nil {
				t.Fatal("transactions with an error")
			}
			if !strings.HasPrefix(err.Error(), "pos: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		// What parsed, written back as Unix ms and plain amounts, parses
		// to the same transactions.
		var b strings.Builder
		var want []Transaction
		for _, tx := range txns {
			if math.IsNaN(tx.Amount) || math.IsInf(tx.Amount, 0) {
				t.Fatalf("amount %v", tx.Amount)
			}
			if tx.T < 1e11 || tx.T > 1e15 {
				continue
			}
			b.WriteString(strconv.FormatInt(tx.T, 10))
			if tx.HasAmount {
				b.WriteString("," + strconv.FormatFloat(tx.Amount, 'f', -1, 64))
			}
			b.WriteString("\n")
			want = append(want, Transaction{T: tx.T, Amount: tx.Amount, HasAmount: tx.HasAmount})
		}
		again, err := ParsePOSCSV(strings.NewReader(b.String()), berlin)
		if err != nil || len(again) != len(want) {
			t.Fatalf("round trip of %q: %v, %d of %d", b.String(), err, len(again), len(want))
		}
		for i := range want {
			if again[i] != want[i] {
				t.Fatalf("round trip: %+v, want %+v", again[i], want[i])
			}
		}
	})
}

func ExampleParsePOSCSV() {
	loc, _ := time.LoadLocation("Europe/Berlin")
	csv := "receipt,timestamp,amount\nA-17,2026-12-04 14:03:00,12.50\nA-18,2026-12-04T14:10:00+01:00,\n"
	txns, err := ParsePOSCSV(strings.NewReader(csv), loc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for _, tx := range txns {
		fmt.Println(tx.ID, time.UnixMilli(tx.T).UTC().Format(time.RFC3339), tx.Amount, tx.HasAmount)
	}
	// Output:
	// A-17 2026-12-04T13:03:00Z 12.5 true
	// A-18 2026-12-04T13:10:00Z 0 false
}

func TestParsePOSJSON(t *testing.T) {
	base := time.Date(2026, 12, 4, 14, 3, 0, 0, berlin).UnixMilli()
	in := fmt.Sprintf(`[{"t":%d,"amount":12.5,"id":"A-17"},{"timestamp":"2026-12-04 14:03:00"},
		{"time":%d,"amount":"1.234,50","id":18},{"t":"2026-12-04T13:03:00Z","amount":null}]`, base, base/1000)
	got, err := ParsePOSJSON(strings.NewReader(in), berlin)
	if err != nil {
		t.Fatal(err)
	}
	want := []Transaction{{T: base, Amount: 12.5, HasAmount: true, ID: "A-17"}, {T: base},
		{T: base, Amount: 1234.5, HasAmount: true, ID: "18"}, {T: base}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	got, err = ParsePOSJSON(strings.NewReader(`{"transactions":[{"t":1764850000}]}`), nil)
	if err != nil || len(got) != 1 || got[0].T != 1764850000000 {
		t.Errorf("wrapped: %v %v", got, err)
	}
	for _, c := range []struct{ in, want string }{
		{`[{"amount":1}]`, "transactions[0]: no time"},
		{`[{"t":1764850000},{"t":"soon"}]`, `transactions[1].t: "soon" is not a time`},
		{`[{"t":1764850000,"amount":"lots"}]`, `transactions[0].amount: "lots" is not an amount`},
		{`[{"t":1764850000,"amount":true}]`, `transactions[0].amount: want a number`},
		{`[{"t":1764850000,"id":{}}]`, `transactions[0].id`},
		{`{"receipts":[]}`, `{"transactions":[...]}`},
		{`[{"t":1}`, "pos: want an array"},
	} {
		_, err := ParsePOSJSON(strings.NewReader(c.in), berlin)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzParsePOSJSON(f *testing.F) {
	f.Add(`[{"t":1764850000,"amount":12.5,"id":"A-17"},{"timestamp":"2026-12-04 14:03:00"}]`)
	f.Add(`{"transactions":[{"time":"2026-12-04T13:03:00Z","amount":"1,5"}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		txns, err := ParsePOSJSON(strings.NewReader(in), berlin)
		if err != nil {
			if txns != nil || !strings.HasPrefix(err.Error(), "pos: ") {
				t.Fatalf("%v %v", txns, err)
			}
			return
		}
		for _, tx := range txns {
			if math.IsNaN(tx.Amount) || math.IsInf(tx.Amount, 0) || (!tx.HasAmount && tx.Amount != 0) {
				t.Fatalf("%+v", tx)
			}
		}
	})
}
