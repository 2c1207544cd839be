package web

import (
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
)

// TestPOSTimes checks the time forms the import endpoint documents, as the
// footfall parser it uses reads them.
func TestPOSTimes(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	want := time.Date(2026, 12, 1, 10, 15, 0, 0, berlin).UnixMilli()
	for _, v := range []string{"2026-12-01 10:15:00", "2026-12-01 10:15", "2026-12-01T10:15", "2026-12-01T09:15:00Z", "1796116500", "1796116500000"} {
		tx, err := footfall.ParsePOSCSV(strings.NewReader("timestamp,amount\n"+v+",1\n"), berlin)
		if err != nil || len(tx) != 1 || tx[0].T != want {
			t.Errorf("%s: %+v %v, want %d", v, tx, err, want)
		}
	}
	if _, err := footfall.ParsePOSCSV(strings.NewReader("timestamp\nyesterday\n"), berlin); err == nil {
		t.Error("yesterday parsed")
	}
}
