//go:build !amd64

package locate

// avx2 is false off amd64: the scalar loops of rows.go do all the cells.
var avx2 = false

func (p *posterior) uniform4(g *Grid, k, ca, cb int) (int, float64) { panic("unreachable") }

func weightsAsm(lp, idet []float64, best0 float64) int { panic("unreachable") }

func (p *posterior) missRowsAsm(g *Grid, ca, cb int, missS *[4]float64) (int, float64) {
	panic("unreachable")
}

func (p *posterior) weightsBestAsm(g *Grid, ca, cb int, best0 float64, eBest *[4]float64, bestC *[4]int) int {
	panic("unreachable")
}

func (p *posterior) uniformWindow(g *Grid, k, ca, rows, spw int, missS *[4]float64) float64 {
	panic("unreachable")
}

func (p *posterior) weightsWindow(g *Grid, ca, rows, spw int, best0 float64, eBest *[4]float64, bestC *[4]int) {
	panic("unreachable")
}

func (p *posterior) momentsAsm(g *Grid, xs []float64, thr, inv float64, rs uint8) (uint8, [6]float64) {
	panic("unreachable")
}

func weightedLCells(g *Grid, lp, far []float64, scale *[4]float64, idx []int, el []float64) float64 {
	panic("unreachable")
}

func (p *posterior) farRows(g *Grid, k int, mu, a00, in float64) { panic("unreachable") }

// logAsm is false off amd64: log10s is math.Log10.
const logAsm = false

func log10x4(y, x *float64, n int) int { panic("unreachable") }

func (s *Solver) costAsm(x, y, b float64) (float64, bool) { panic("unreachable") }

// costArgs is costx4's arguments on amd64.
type costArgs struct{}

func (s *Solver) setCostArgs(n4 int) { panic("unreachable") }
