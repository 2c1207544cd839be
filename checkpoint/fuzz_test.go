package checkpoint

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// graph is a value graph with what a pipeline's state holds: pointers
// shared and cyclic, maps, slices sharing an array, a kept function.
type graph struct {
	Name  string
	N     int64
	F     []float64
	Parts map[string]*part
	Head  *part
	win   []float64 // shares F's array
	fn    func() int
	keys  map[[2]uint8][]int32
}

type part struct {
	ID   int
	Next *part
	Vals []uint16
}

var graphKeep = Keep{}

func newGraph() *graph {
	g := &graph{Name: "g", N: -7, F: []float64{1.5, 2, 3, 4}, Parts: map[string]*part{}, fn: func() int { return 1 },
		keys: map[[2]uint8][]int32{{1, 2}: {3, 4}}}
	a := &part{ID: 1, Vals: []uint16{9}}
	b := &part{ID: 2, Next: a}
	a.Next = b
	g.Parts["a"], g.Parts["b"], g.Head = a, b, a
	g.win = g.F[1:3]
	return g
}

func TestGraph(t *testing.T) {
	g := newGraph()
	var ck bytes.Buffer
	if err := Write(&ck, graphKeep, g); err != nil {
		t.Fatal(err)
	}
	h := &graph{fn: g.fn}
	if err := Read(bytes.NewReader(ck.Bytes()), graphKeep, h); err != nil {
		t.Fatal(err)
	}
	if h.Head != h.Parts["a"] || h.Head.Next != h.Parts["b"] || h.Parts["b"].Next != h.Head {
		t.Error("shared pointers not shared again")
	}
	if h.win[0] = 42; h.F[1] != 42 {
		t.Error("slices of one array not of one array again")
	}
	h.win[0] = g.win[0]
	if h.fn == nil || h.fn() != 1 {
		t.Error("the kept function is not the fresh value's")
	}
	h.fn, g.fn = nil, nil
	if !reflect.DeepEqual(g, h) {
		t.Errorf("read %+v, wrote %+v", h, g)
	}
}

// FuzzDecode reads arbitrary state (past the checks of the header and
// the SHA-256, which a corrupt file does not pass): an error or a value,
// never a panic.
func FuzzDecode(f *testing.F) {
	e := newEncoder(graphKeep)
	g := newGraph()
	e.externals(reflect.ValueOf(g).Elem(), "0")
	e.value(reflect.ValueOf(g).Elem(), "0", false)
	e.arrays()
	f.Add(e.b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		h := &graph{}
		d := newDecoder(body, graphKeep)
		d.externals(reflect.ValueOf(h).Elem(), "0")
		if err := d.value(reflect.ValueOf(h).Elem(), "0"); err == nil {
			d.arrays()
		} else if !errors.Is(err, ErrRefused) && err.Error() == "" {
			t.Fatal("an error without a message")
		}
	})
}
