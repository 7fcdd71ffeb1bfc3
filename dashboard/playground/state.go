package playground

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"math"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// GridSize is the number of cells along each side of the grid the
// decision boundary and the neurons are evaluated on.
const GridSize = 48

// State is everything the page draws.
type State struct {
	Config    Config  `json:"config"`
	Step      int     `json:"step"`
	Epoch     int     `json:"epoch"`
	TrainLoss float64 `json:"trainLoss"`
	TestLoss  float64 `json:"testLoss"`
	Train     []Point `json:"train"`
	Test      []Point `json:"test"`
	// Layers holds each layer's weights ([out][in]) and biases, the
	// hidden layers first, the output last.
	Layers []LayerValues `json:"layers"`
	// Grid, Center and Domain place the heat maps: GridSize² cells, row by
	// row from the top (y = Center + Domain), covering
	// [Center − Domain, Center + Domain]² (Center is 0 but for CatDog).
	Grid   int     `json:"grid"`
	Center float64 `json:"center"`
	Domain float64 `json:"domain"`
	// Boundary is the network's probability of class 1 at each cell, as
	// bytes (0 to 255), base64-encoded; BoundaryHash a checksum of them.
	Boundary     string `json:"boundary"`
	BoundaryHash string `json:"boundaryHash"`
	// Neurons holds, per hidden layer and neuron, its activation at each
	// cell, scaled to [-1, 1] by the largest magnitude (at least 1) and
	// stored as bytes like Boundary.
	Neurons [][]string `json:"neurons"`
	// Stage is the step mode's last stage, or nil.
	Stage *StageView `json:"stage,omitempty"`
}

// State evaluates the network on the grid and the data and returns what
// the page draws.
func (e *Engine) State() State {
	s := State{
		Config: e.Config(), Step: e.step, Epoch: e.epoch,
		TrainLoss: e.loss(e.train), TestLoss: e.loss(e.test),
		Train: e.train, Test: e.test,
		Layers: e.layerValues(func(l layer) ([]float32, []float32) { return l.W.Data.Data(), l.B.Data.Data() }),
		Grid:   GridSize,
		Stage:  e.Stage(),
	}
	s.Center, s.Domain = DomainOf(e.cfg.Dataset)
	n, m, d := GridSize, s.Center, s.Domain
	xs := make([]float32, 0, 2*n*n)
	for r := range n {
		y := m + d - (float64(r)+0.5)*2*d/float64(n)
		for c := range n {
			x := m - d + (float64(c)+0.5)*2*d/float64(n)
			xs = append(xs, float32(x), float32(y))
		}
	}
	hidden, logits := e.forward(ag.NoGraph(tensor.New(xs, n*n, 2)))
	probs := sigmoids(logits.Data.Data())
	b := make([]byte, len(probs))
	for i, p := range probs {
		b[i] = quantize(float64(p))
	}
	s.Boundary = base64.StdEncoding.EncodeToString(b)
	h := fnv.New64a()
	h.Write(b)
	s.BoundaryHash = fmt.Sprintf("%016x", h.Sum64())
	for _, hv := range hidden {
		width := hv.Shape()[1]
		vals := hv.Data.Data()
		layer := make([]string, width)
		for j := range width {
			peak := 1.0
			for i := range n * n {
				peak = max(peak, math.Abs(float64(vals[i*width+j])))
			}
			cells := make([]byte, n*n)
			for i := range cells {
				cells[i] = quantize((float64(vals[i*width+j])/peak + 1) / 2)
			}
			layer[j] = base64.StdEncoding.EncodeToString(cells)
		}
		s.Neurons = append(s.Neurons, layer)
	}
	return s
}

// quantize maps [0, 1] to a byte.
func quantize(v float64) byte {
	if math.IsNaN(v) {
		return 128
	}
	return byte(math.Round(min(max(v, 0), 1) * 255))
}
