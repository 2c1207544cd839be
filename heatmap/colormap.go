package heatmap

import (
	"image/color"
	"math"
)

// ColorMap maps [0, 1] to colours by linear interpolation between evenly
// spaced stops.
type ColorMap struct {
	Name  string
	Stops []color.RGBA
}

// Viridis and Inferno are matplotlib's perceptually uniform colour maps
// (van der Walt and Smith, 2015), tabulated at eleven evenly spaced points;
// linear interpolation between them stays within a few units of the full
// 256-entry tables.
var (
	Viridis = ColorMap{Name: "viridis", Stops: hexStops(
		0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c, 0x22a884, 0x44bf70, 0x7ad151, 0xbddf26, 0xfde725)}
	Inferno = ColorMap{Name: "inferno", Stops: hexStops(
		0x000004, 0x160b39, 0x420a68, 0x6a176e, 0x932667, 0xbc3754, 0xdd513a, 0xf37819, 0xfca50a, 0xf6d746, 0xfcffa4)}
)

func hexStops(v ...uint32) []color.RGBA {
	s := make([]color.RGBA, len(v))
	for i, x := range v {
		s[i] = color.RGBA{uint8(x >> 16), uint8(x >> 8), uint8(x), 255}
	}
	return s
}

// At returns the colour at f, clamped to [0, 1].
func (m ColorMap) At(f float64) color.RGBA {
	if math.IsNaN(f) {
		f = 0
	}
	f = math.Min(math.Max(f, 0), 1)
	n := len(m.Stops) - 1
	p := f * float64(n)
	i := min(int(p), n-1)
	t := p - float64(i)
	a, b := m.Stops[i], m.Stops[i+1]
	lerp := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + t*(float64(y)-float64(x)))) }
	return color.RGBA{lerp(a.R, b.R), lerp(a.G, b.G), lerp(a.B, b.B), 255}
}

// Reversed returns the map run backwards (for "lower is better" fields).
func (m ColorMap) Reversed() ColorMap {
	s := make([]color.RGBA, len(m.Stops))
	for i, c := range m.Stops {
		s[len(s)-1-i] = c
	}
	return ColorMap{Name: m.Name + "_r", Stops: s}
}
