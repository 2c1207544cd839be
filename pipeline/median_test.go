package pipeline

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMedian5 compares median5 with the middle of the five sorted, on
// every tuple of values 0..5 (ties of every kind) and on random ones.
func TestMedian5(t *testing.T) {
	check := func(v [5]int64) {
		s := v
		slices.Sort(s[:])
		if got := median5(v[0], v[1], v[2], v[3], v[4]); got != s[2] {
			t.Fatalf("median5%v = %d, want %d", v, got, s[2])
		}
	}
	var v [5]int64
	for i := range 6 * 6 * 6 * 6 * 6 {
		x := i
		for j := range v {
			v[j] = int64(x % 6)
			x /= 6
		}
		check(v)
	}
	rng := rand.New(rand.NewPCG(1, 5))
	for range 100_000 {
		for j := range v {
			v[j] = rng.Int64() >> rng.IntN(63)
		}
		check(v)
	}
}

// TestUpperMedian: upperMedian is the middle value (the upper of the two
// middle ones) of v sorted, for every tuple of 0..3 up to 5 long.
func TestUpperMedian(t *testing.T) {
	var rec func(v []int64)
	rec = func(v []int64) {
		if len(v) > 0 {
			s := slices.Clone(v)
			slices.Sort(s)
			if got := upperMedian(slices.Clone(v)); got != s[len(s)/2] {
				t.Fatalf("upperMedian(%v) = %d, want %d", v, got, s[len(s)/2])
			}
		}
		if len(v) == 5 {
			return
		}
		for x := range int64(4) {
			rec(append(v, x))
		}
	}
	rec(nil)
}
