package calibration_test

import (
	"fmt"
	"math"

	"github.com/passant/passant/calibration"
)

// A sensor that hears 6 dB less than the site's default and falls off
// faster: the fit finds both from frames at known distances.
func ExampleFit() {
	var samples []calibration.Sample
	for i := 0; i < 40; i++ {
		d := 1.5 + float64(i)*0.6
		noise := 2 * math.Sin(float64(i)*2.3) // deterministic stand-in for fading
		samples = append(samples, calibration.Sample{RSSI: -51 - 30*math.Log10(d) + noise, D: d})
	}
	r := calibration.Fit(samples, calibration.Prior{Params: calibration.Params{RSSI1m: -45, Exponent: 2.5}})
	fmt.Printf("rssi_1m %.0f dBm, exponent %.1f from %d samples\n", r.RSSI1m, r.Exponent, r.N)
	// Output: rssi_1m -51 dBm, exponent 3.0 from 40 samples
}
