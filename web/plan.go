package web

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // floor plans
	_ "image/png"
)

// Limits of a floor-plan image. The server decodes plans (under the
// heatmap PNG and the calibration's accuracy map), and Go's decoders
// allocate the whole picture the header claims before reading a pixel: a
// few hundred bytes of PNG can claim gigabytes. A plan of 8192 pixels a side
// at 25 megapixels is a scan at 300 dpi of an A1 sheet and costs at most
// 100 MB decoded.
const (
	MaxPlanSide   = 8192
	MaxPlanPixels = 25_000_000
)

// ErrPlanTooLarge is a plan image over MaxPlanSide or MaxPlanPixels.
var ErrPlanTooLarge = errors.New("plan image too large")

// PlanSize reads the pixel size of a PNG, JPEG or WebP image from its
// header, decoding no pixels.
func PlanSize(data []byte) (w, h int, err error) {
	if bytes.HasPrefix(data, []byte("RIFF")) && len(data) >= 16 && string(data[8:12]) == "WEBP" {
		return webpSize(data)
	}
	c, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, fmt.Errorf("plan: read the image's size: %w", err)
	}
	return c.Width, c.Height, nil
}

// webpSize reads a WebP's canvas size: from its VP8X header, or the first
// frame's (lossy VP8, lossless VP8L).
func webpSize(d []byte) (w, h int, err error) {
	bad := errors.New("plan: a WebP image without a readable size")
	if len(d) < 30 {
		return 0, 0, bad
	}
	switch string(d[12:16]) {
	case "VP8X":
		w = 1 + int(d[24]) | int(d[25])<<8 | int(d[26])<<16
		h = 1 + int(d[27]) | int(d[28])<<8 | int(d[29])<<16
	case "VP8 ":
		if d[23] != 0x9d || d[24] != 0x01 || d[25] != 0x2a {
			return 0, 0, bad
		}
		w = int(binary.LittleEndian.Uint16(d[26:]) & 0x3fff)
		h = int(binary.LittleEndian.Uint16(d[28:]) & 0x3fff)
	case "VP8L":
		if d[20] != 0x2f {
			return 0, 0, bad
		}
		v := binary.LittleEndian.Uint32(d[21:])
		w, h = 1+int(v&0x3fff), 1+int(v>>14&0x3fff)
	default:
		return 0, 0, bad
	}
	return w, h, nil
}

// CheckPlanSize refuses a PNG, JPEG or WebP plan whose header claims more
// than MaxPlanSide or MaxPlanPixels (the error wraps ErrPlanTooLarge), or
// whose size cannot be read.
func CheckPlanSize(data []byte) error {
	w, h, err := PlanSize(data)
	if err != nil {
		return err
	}
	if w > MaxPlanSide || h > MaxPlanSide || w*h > MaxPlanPixels {
		return fmt.Errorf("plan: %d x %d pixels: %w (at most %d a side, %d megapixels)",
			w, h, ErrPlanTooLarge, MaxPlanSide, MaxPlanPixels/1_000_000)
	}
	return nil
}

// DecodePlan decodes a PNG or JPEG plan once CheckPlanSize lets it.
func DecodePlan(data []byte) (image.Image, error) {
	if err := CheckPlanSize(data); err != nil {
		return nil, err
	}
	pic, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return pic, nil
}
