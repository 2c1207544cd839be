package sensor

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/google/gopacket"
)

type benchFrame struct {
	data []byte
	ci   gopacket.CaptureInfo
}

// benchFrames loads every frame of the bundled captures (or only their
// probe requests).
func benchFrames(b testing.TB, probesOnly bool) []benchFrame {
	b.Helper()
	d := NewDecoder(DecoderOptions{})
	var f Frame
	return readFrames(b, captures(b), func(data []byte, ci gopacket.CaptureInfo) bool {
		return !probesOnly || d.Decode(data, ci, &f) == OK
	})
}

// readFrames reads the frames of the capture files names that keep takes.
func readFrames(b testing.TB, names []string, keep func(data []byte, ci gopacket.CaptureInfo) bool) []benchFrame {
	b.Helper()
	var frames []benchFrame
	for _, name := range names {
		src, err := OpenFiles([]string{name}, true)
		if err != nil {
			b.Fatal(err)
		}
		for {
			data, ci, err := src.Next(context.Background())
			if err != nil {
				break
			}
			if keep(data, ci) {
				frames = append(frames, benchFrame{bytes.Clone(data), ci})
			}
		}
		src.Close()
	}
	return frames
}

func benchDecode(b *testing.B, probesOnly bool) {
	decodeFrames(b, benchFrames(b, probesOnly), DecoderOptions{})
}

// decodeFrames decodes the frames in turn with opts and reports frames a
// second.
func decodeFrames(b *testing.B, frames []benchFrame, opts DecoderOptions) {
	d := NewDecoder(opts)
	var f Frame
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		fr := &frames[i]
		d.Decode(fr.data, fr.ci, &f)
		if i++; i == len(frames) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkDecode decodes all frames of the bundled captures in turn (95%
// probe requests, the rest beacons, data, control and the like).
func BenchmarkDecode(b *testing.B) { benchDecode(b, false) }

// BenchmarkDecodeProbe decodes probe requests only.
func BenchmarkDecodeProbe(b *testing.B) { benchDecode(b, true) }

// BenchmarkNode is the whole path of one frame on a node: decode,
// pseudonymise, batch and encode to JSONL.
func BenchmarkNode(b *testing.B) {
	frames := benchFrames(b, false)
	d := NewDecoder(DecoderOptions{})
	p := testPseudo()
	bt := NewBatcher(BatcherConfig{Sensor: "s1", Boot: 1})
	sink := NewJSONLWriter(io.Discard, nil, false)
	var f Frame
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		fr := &frames[i]
		if i++; i == len(frames) {
			i = 0
		}
		if d.Decode(fr.data, fr.ci, &f) != OK {
			continue
		}
		dev, _ := p.Dev(f.Addr, f.T)
		if x := bt.Add(f.Observation(dev), f.T); x != nil {
			sink.Publish(x)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

func BenchmarkFingerprint(b *testing.B) {
	ies := []byte{1, 4, 2, 4, 11, 22, 50, 8, 12, 18, 24, 36, 48, 72, 96, 108, 45, 26, 239, 1, 19, 255, 255, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 127, 8, 4, 0, 10, 130, 0, 64, 0, 64, 221, 9, 0, 80, 242, 8, 0, 40, 0}
	var f fingerprinter
	b.ReportAllocs()
	for b.Loop() {
		f.sum(ies)
	}
}

// BenchmarkDecodeData decodes the frames of aircrack-test1 (authentication,
// association and QoS data frames among them) with DecoderOptions.Data.
func BenchmarkDecodeData(b *testing.B) {
	all := func([]byte, gopacket.CaptureInfo) bool { return true }
	decodeFrames(b, readFrames(b, []string{"testdata/captures/aircrack-test1.pcap"}, all), DecoderOptions{Data: true})
}
