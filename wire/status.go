package wire

// Tx is what a sensor that transmits probe requests of its own (passant
// sensor --transmit) says about them in its status message, an extension
// of contract §1: {"tx":{"dev":"...","next":"...","every_ms":30000,"sent":42}}.
// The server makes the sensor an anchor at its position in the site file
// and fits the other sensors' radio values from what they hear of it. The
// transmit address itself never leaves the sensor: only its pseudonyms.
type Tx struct {
	// Dev is the pseudonym of the transmit address in the current key
	// epoch; Next its pseudonym in the next epoch (absent when keys never
	// rotate), so that the server knows the frames sent right after the
	// epoch changes before the next status comes.
	Dev  Dev  `json:"dev"`
	Next *Dev `json:"next,omitempty"`
	// EveryMS is the interval between transmitted frames, ms.
	EveryMS int64 `json:"every_ms"`
	// Sent counts the frames sent since the sensor started.
	Sent int64 `json:"sent"`
}
