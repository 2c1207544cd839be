package web

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
)

// webpHeader returns the first bytes of a WebP file whose chunk is kind
// ("VP8 ", "VP8L" or "VP8X") for a w x h picture, as encoders write them.
func webpHeader(kind string, w, h int) []byte {
	b := append([]byte("RIFF\x00\x00\x00\x00WEBP"), kind...)
	b = append(b, 0, 0, 0, 0) // chunk size
	switch kind {
	case "VP8X":
		b = append(b, 0x10, 0, 0, 0)
		b = append(b, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	case "VP8 ":
		b = append(b, 0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a)
		b = binary.LittleEndian.AppendUint16(b, uint16(w))
		b = binary.LittleEndian.AppendUint16(b, uint16(h))
	case "VP8L":
		b = append(b, 0x2f)
		b = binary.LittleEndian.AppendUint32(b, uint32(w-1)|uint32(h-1)<<14)
	}
	return append(b, make([]byte, 16)...)
}

func TestPlanSize(t *testing.T) {
	var pngB, jpgB bytes.Buffer
	png.Encode(&pngB, image.NewGray(image.Rect(0, 0, 640, 480)))
	jpeg.Encode(&jpgB, image.NewGray(image.Rect(0, 0, 800, 600)), nil)
	for _, c := range []struct {
		name string
		data []byte
		w, h int
	}{
		{"png", pngB.Bytes(), 640, 480},
		{"jpeg", jpgB.Bytes(), 800, 600},
		{"webp VP8X", webpHeader("VP8X", 4000, 3000), 4000, 3000},
		{"webp VP8", webpHeader("VP8 ", 1024, 768), 1024, 768},
		{"webp VP8L", webpHeader("VP8L", 16384, 2), 16384, 2},
	} {
		w, h, err := PlanSize(c.data)
		if err != nil || w != c.w || h != c.h {
			t.Errorf("%s: %d x %d, %v; want %d x %d", c.name, w, h, err, c.w, c.h)
		}
	}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"webp 9000 wide", webpHeader("VP8X", 9000, 10)},
		{"webp 6000 x 6000", webpHeader("VP8X", 6000, 6000)},
		{"webp VP8X at its largest", webpHeader("VP8X", 1<<24, 1<<24)},
	} {
		if err := CheckPlanSize(c.data); !errors.Is(err, ErrPlanTooLarge) {
			t.Errorf("%s: %v, want ErrPlanTooLarge", c.name, err)
		}
	}
	if err := CheckPlanSize(webpHeader("VP8X", 5000, 5000)); err != nil {
		t.Errorf("5000 x 5000: %v", err)
	}
	if err := CheckPlanSize([]byte("RIFF\x00\x00\x00\x00WEBPVP8Z")); err == nil || errors.Is(err, ErrPlanTooLarge) {
		t.Errorf("a WebP of an unknown chunk: %v, want an unreadable size", err)
	}
}

// FuzzCheckPlanSize: the plan upload's header reading takes any bytes an
// installer sends without panicking, and what it lets through decodes
// within the limits.
func FuzzCheckPlanSize(f *testing.F) {
	var pngB bytes.Buffer
	png.Encode(&pngB, image.NewGray(image.Rect(0, 0, 3, 2)))
	f.Add(pngB.Bytes())
	f.Add(webpHeader("VP8X", 4000, 3000))
	f.Add(webpHeader("VP8 ", 10, 10))
	f.Add(webpHeader("VP8L", 10, 10))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if CheckPlanSize(data) != nil {
			return
		}
		w, h, err := PlanSize(data)
		if err != nil || w > MaxPlanSide || h > MaxPlanSide || w*h > MaxPlanPixels {
			t.Fatalf("let through %d x %d (%v)", w, h, err)
		}
		if pic, err := DecodePlan(data); err == nil {
			if b := pic.Bounds(); b.Dx() > MaxPlanSide || b.Dy() > MaxPlanSide {
				t.Fatalf("decoded %v", b)
			}
		}
	})
}
