package sensor_test

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/passant/passant/sensor"
	"github.com/passant/passant/wire"
)

func ExamplePseudonymizer() {
	key, _ := sensor.SiteKey([]byte("correct horse battery staple\n"))
	p := sensor.NewPseudonymizer(key, sensor.DefaultRotation)
	mac, _ := sensor.ParseMAC("3c:22:fb:12:34:56")
	dev, _ := p.Dev(mac, 1764850000001)
	fmt.Println(sensor.Epoch(1764850000001, sensor.DefaultRotation), dev, mac)
	// Output: 680 9a00bfbcf19eed21 [mac]
}

func ExampleFingerprint() {
	// SSID "shop", rates, DS set (channel 6), HT capabilities.
	ies, _ := hex.DecodeString("000473686f70010402040b160301062d1a000102030405060708090a0b0c0d0e0f10111213141516171819")
	fp, _ := sensor.Fingerprint(ies)
	fmt.Println(wire.FormatFP(fp))
	// Output: e79007b9
}

func ExampleBatcher() {
	b := sensor.NewBatcher(sensor.BatcherConfig{Sensor: "s1", Boot: 1764849000000, Interval: time.Second})
	for _, t := range []int64{1764850000000, 1764850000400, 1764850001000} {
		if batch := b.Add(wire.Observation{T: t, Dev: 1, RSSI: -60, Seq: -1}, t); batch != nil {
			fmt.Printf("%s\n", wire.AppendBatch(nil, batch))
		}
	}
	fmt.Printf("%s\n", wire.AppendBatch(nil, b.Flush(1764850001500)))
	// Output:
	// {"v":1,"sensor":"s1","boot":1764849000000,"id":1,"sent":1764850001000,"obs":[{"t":1764850000000,"dev":"0000000000000001","rssi":-60},{"t":1764850000400,"dev":"0000000000000001","rssi":-60}]}
	// {"v":1,"sensor":"s1","boot":1764849000000,"id":2,"sent":1764850001500,"obs":[{"t":1764850001000,"dev":"0000000000000001","rssi":-60}]}
}
