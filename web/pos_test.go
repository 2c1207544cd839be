package web

import (
	"testing"
	"time"
)

func FuzzParsePOSCSV(f *testing.F) {
	f.Add([]byte("receipt;time;total\nR1;2026-12-01 10:15:00;12,50\nR2;1764580000;3\n"))
	f.Add([]byte("t,amount,id\n1764580000000,1.5,a\n"))
	f.Add([]byte("\ufefftimestamp\n2026-12-01T11:00:00Z\n"))
	f.Add([]byte("time,amount\n\"2026-12-01 10:00\",\"1e400\"\n"))
	loc, _ := time.LoadLocation("Europe/Berlin")
	f.Fuzz(func(t *testing.T, data []byte) {
		tx, err := ParsePOSCSV(data, loc)
		if err != nil {
			return
		}
		for _, x := range tx {
			if x.HasAmount && (x.Amount != x.Amount) {
				t.Fatalf("NaN amount from %q", data)
			}
		}
	})
}

func FuzzParsePOSJSON(f *testing.F) {
	f.Add([]byte(`[{"t":1764580000000,"amount":9.99,"id":"R1"}]`))
	f.Add([]byte(`{"transactions":[{"t":"2026-12-01 10:00","id":7}]}`))
	loc, _ := time.LoadLocation("Europe/Berlin")
	f.Fuzz(func(t *testing.T, data []byte) {
		ParsePOSJSON(data, loc)
	})
}

func TestParsePOSTimes(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	want := time.Date(2026, 12, 1, 10, 15, 0, 0, berlin).UnixMilli()
	for _, v := range []string{"2026-12-01 10:15:00", "2026-12-01 10:15", "2026-12-01T10:15", "2026-12-01T09:15:00Z", "1796116500", "1796116500000"} {
		got, err := parsePOSTime(v, berlin)
		if err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", v, got, err, want)
		}
	}
	if _, err := parsePOSTime("yesterday", berlin); err == nil {
		t.Error("yesterday parsed")
	}
}
