//go:build !(goexperiment.simd && amd64)

package locate

// simd8 is whether the grid posterior runs 8 cells at a time (grid_vec.go:
// only with GOEXPERIMENT=simd on amd64 with AVX-512).
const simd8 = false

func (g *Grid) vecInit() {}

func (p *posterior) uniform8(g *Grid, k, ca, cb int) int { return 0 }

func (p *posterior) weights8(g *Grid, ca, cb int, best0 float64) int { return 0 }
