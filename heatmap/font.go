package heatmap

import (
	"image"
	"image/color"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// A tiny 5×7 bitmap font for legends and labels: digits, lower-case
// letters and a little punctuation. Each glyph is seven rows of five
// columns, '#' set.
var glyphs = map[rune]string{
	'0': ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",
	'1': "..#..|.##..|..#..|..#..|..#..|..#..|.###.",
	'2': ".###.|#...#|....#|...#.|..#..|.#...|#####",
	'3': "#####|...#.|..#..|...#.|....#|#...#|.###.",
	'4': "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",
	'5': "#####|#....|####.|....#|....#|#...#|.###.",
	'6': "..##.|.#...|#....|####.|#...#|#...#|.###.",
	'7': "#####|....#|...#.|..#..|.#...|.#...|.#...",
	'8': ".###.|#...#|#...#|.###.|#...#|#...#|.###.",
	'9': ".###.|#...#|#...#|.####|....#|...#.|.##..",
	'a': ".....|.....|.###.|....#|.####|#...#|.####",
	'b': "#....|#....|#.##.|##..#|#...#|#...#|####.",
	'c': ".....|.....|.###.|#....|#....|#...#|.###.",
	'd': "....#|....#|.##.#|#..##|#...#|#...#|.####",
	'e': ".....|.....|.###.|#...#|#####|#....|.###.",
	'f': "..##.|.#..#|.#...|###..|.#...|.#...|.#...",
	'g': ".....|.####|#...#|#...#|.####|....#|.###.",
	'h': "#....|#....|#.##.|##..#|#...#|#...#|#...#",
	'i': "..#..|.....|.##..|..#..|..#..|..#..|.###.",
	'j': "...#.|.....|..##.|...#.|...#.|#..#.|.##..",
	'k': "#....|#....|#..#.|#.#..|##...|#.#..|#..#.",
	'l': ".##..|..#..|..#..|..#..|..#..|..#..|.###.",
	'm': ".....|.....|##.#.|#.#.#|#.#.#|#...#|#...#",
	'n': ".....|.....|#.##.|##..#|#...#|#...#|#...#",
	'o': ".....|.....|.###.|#...#|#...#|#...#|.###.",
	'p': ".....|.....|####.|#...#|####.|#....|#....",
	'q': ".....|.....|.##.#|#..##|.####|....#|....#",
	'r': ".....|.....|#.##.|##..#|#....|#....|#....",
	's': ".....|.....|.###.|#....|.###.|....#|####.",
	't': ".#...|.#...|###..|.#...|.#...|.#..#|..##.",
	'u': ".....|.....|#...#|#...#|#...#|#..##|.##.#",
	'v': ".....|.....|#...#|#...#|#...#|.#.#.|..#..",
	'w': ".....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.",
	'x': ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#",
	'y': ".....|.....|#...#|#...#|.####|....#|.###.",
	'z': ".....|.....|#####|...#.|..#..|.#...|#####",
	'.': ".....|.....|.....|.....|.....|.##..|.##..",
	',': ".....|.....|.....|.....|.##..|..#..|.#...",
	'-': ".....|.....|.....|#####|.....|.....|.....",
	'+': ".....|..#..|..#..|#####|..#..|..#..|.....",
	'±': "..#..|..#..|#####|..#..|..#..|.....|#####",
	':': ".....|.##..|.##..|.....|.##..|.##..|.....",
	'/': ".....|....#|...#.|..#..|.#...|#....|.....",
	'%': "##...|##..#|...#.|..#..|.#...|#..##|...##",
	'(': "...#.|..#..|.#...|.#...|.#...|..#..|...#.",
	')': ".#...|..#..|...#.|...#.|...#.|..#..|.#...",
	'<': "...#.|..#..|.#...|#....|.#...|..#..|...#.",
	'>': ".#...|..#..|...#.|....#|...#.|..#..|.#...",
	'=': ".....|.....|#####|.....|#####|.....|.....",
	'?': ".###.|#...#|....#|...#.|..#..|.....|..#..",
	' ': ".....|.....|.....|.....|.....|.....|.....",
}

// glyphBits holds each glyph as seven rows of five bits (bit 4 leftmost).
var glyphBits = func() map[rune][7]uint8 {
	m := make(map[rune][7]uint8, len(glyphs))
	for r, s := range glyphs {
		rows := strings.Split(s, "|")
		if len(rows) != 7 {
			panic("heatmap: glyph " + string(r) + " has not 7 rows")
		}
		var g [7]uint8
		for i, row := range rows {
			if len(row) != 5 {
				panic("heatmap: glyph " + string(r) + " has a row not 5 wide")
			}
			for c := 0; c < 5; c++ {
				if row[c] == '#' {
					g[i] |= 1 << (4 - c)
				}
			}
		}
		m[r] = g
	}
	return m
}()

// Text metrics at scale 1: a glyph is 5×7 pixels with 1 pixel between.
const (
	glyphW = 6
	glyphH = 7
)

// TextWidth returns the width in pixels of s drawn at scale.
func TextWidth(s string, scale int) int {
	n := 0
	for range s {
		n++
	}
	if n == 0 {
		return 0
	}
	return (n*glyphW - 1) * scale
}

// DrawText draws s with its top-left corner at (x, y), each font pixel a
// scale×scale square. Upper-case letters are drawn as lower-case, accented
// ones without their accents, dashes as '-' (fold); runes without a glyph
// as '?'.
func DrawText(img *image.RGBA, x, y int, s string, c color.Color, scale int) {
	if scale < 1 {
		scale = 1
	}
	rgba := color.RGBAModel.Convert(c).(color.RGBA)
	for _, r := range fold(s) {
		g, ok := glyphBits[r]
		if !ok {
			g = glyphBits['?']
		}
		for row := 0; row < glyphH; row++ {
			for col := 0; col < 5; col++ {
				if g[row]&(1<<(4-col)) == 0 {
					continue
				}
				for dy := 0; dy < scale; dy++ {
					for dx := 0; dx < scale; dx++ {
						px, py := x+col*scale+dx, y+row*scale+dy
						if (image.Point{px, py}).In(img.Rect) {
							img.SetRGBA(px, py, rgba)
						}
					}
				}
			}
		}
		x += glyphW * scale
	}
}

// fold writes s in the font's letters: lower case, accents taken off
// (canonical decomposition, combining marks dropped: "Café" is "cafe"),
// dashes as '-', and the letters that do not decompose (ø, ł, đ, æ, œ, ß)
// as their nearest plain ones.
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		switch r {
		case '–', '—', '‐', '‑', '−':
			r = '-'
		case 'ø':
			r = 'o'
		case 'ł':
			r = 'l'
		case 'đ':
			r = 'd'
		case 'æ':
			b.WriteString("ae")
			continue
		case 'œ':
			b.WriteString("oe")
			continue
		case 'ß':
			b.WriteString("ss")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
