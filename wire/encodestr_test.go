package wire

import (
	"encoding/json"
	"testing"
)

// TestJournalLineOfOddStrings: a batch the decoder accepts encodes to JSON
// that reads back as the same batch, whatever its free-text fields hold.
// The contract lists kind's values but does not reject others, and fp is
// any string; a third-party sensor's kind or fp holding a control
// character (or DEL, or a character outside the BMP that Go does not
// print) was written with strconv.AppendQuote's Go escapes ("\x01"),
// which JSON does not have: the server journals a batch that is not plain
// in this form, so its journal line was unreadable, lost to a restart's
// recovery and to a replay of the journal.
func TestJournalLineOfOddStrings(t *testing.T) {
	for _, in := range []string{
		`{"v":1,"sensor":"s1","sent":1,"obs":[{"t":1,"dev":"0123456789abcdef","rssi":-50,"kind":"a\u0001\u007fb"}]}`,
		`{"v":1,"sensor":"s1","sent":1,"obs":[{"t":1,"dev":"0123456789abcdef","rssi":-50,"fp":"x\u001f\"\\y"}]}`,
		`{"v":1,"sensor":"s1","sent":1,"obs":[{"t":1,"dev":"0123456789abcdef","rssi":-50,"kind":"\ud83d\ude00\u00ad\u2028"}]}`,
		`{"v":1,"sensor":"s1","sent":1,"obs":[{"t":1,"dev":"0123456789abcdef","rssi":-50,"kind":"` + "\xff\x00" + `"}]}`,
	} {
		b, _, err := ParseBatch([]byte(in))
		if err != nil {
			// not accepted: nothing to journal
			continue
		}
		line := AppendJournalLine(nil, 5, &b)
		if !json.Valid(line) {
			t.Errorf("journal line of %s is not JSON: %s", in, line)
			continue
		}
		_, b2, _, err := ParseLine(line)
		if err != nil || len(b2.Obs) != 1 || b2.Obs[0].Kind != b.Obs[0].Kind || b2.Obs[0].FP != b.Obs[0].FP {
			t.Errorf("journal line %s reads back as %+v (%v), want %+v", line, b2.Obs, err, b.Obs)
		}
	}
}
