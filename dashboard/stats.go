package dashboard

import (
	"fmt"
	"math"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
)

// paramGroup is a layer's parameters: the ones whose state_dict names
// share everything before the last dot ("0" for "0.weight" and "0.bias").
type paramGroup struct {
	name   string
	params []*ag.Value
}

// groupParameters groups m's parameters by layer, in state_dict order.
func groupParameters(m nn.Module) []paramGroup {
	var out []paramGroup
	index := map[string]int{}
	for _, p := range nn.NamedParameters(m) {
		layer := p.Name
		if i := strings.LastIndexByte(layer, '.'); i >= 0 {
			layer = layer[:i]
		}
		i, ok := index[layer]
		if !ok {
			i = len(out)
			index[layer] = i
			out = append(out, paramGroup{name: layer})
		}
		out[i].params = append(out[i].params, p.Value)
	}
	return out
}

// measureNorms returns each layer's gradient and weight L2 norms. A layer
// without gradients (frozen, or not reached) has gradient norm 0.
func measureNorms(groups []paramGroup, step int) NormPoint {
	n := NormPoint{Step: step, Grad: make([]Num, len(groups)), Weight: make([]Num, len(groups))}
	for i, g := range groups {
		var gs, ws float64
		for _, p := range g.params {
			ws += sumSquares(p.Data.Data())
			if p.Grad != nil {
				gs += sumSquares(p.Grad.Data())
			}
		}
		n.Grad[i], n.Weight[i] = Num(math.Sqrt(gs)), Num(math.Sqrt(ws))
	}
	return n
}

// sumSquares adds in eight independent lanes, so that the additions do
// not wait on each other; float32 sums are precise enough for a chart.
func sumSquares(v []float32) float64 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := v[i : i+8 : i+8]
		s[0] += w[0] * w[0]
		s[1] += w[1] * w[1]
		s[2] += w[2] * w[2]
		s[3] += w[3] * w[3]
		s[4] += w[4] * w[4]
		s[5] += w[5] * w[5]
		s[6] += w[6] * w[6]
		s[7] += w[7] * w[7]
	}
	for ; i < len(v); i++ {
		s[0] += v[i] * v[i]
	}
	total := 0.0
	for _, x := range s {
		total += float64(x)
	}
	return total
}

// Thresholds of the gradient health flags. They are rules of thumb, in
// terms of the ratio of a layer's gradient norm to its weight norm: a
// healthy layer's ratio times the learning rate (roughly the fraction of
// the layer one step changes) is around 1e-3.
const (
	// explodingRatio: lr·‖g‖/‖w‖ above it means one step would move the
	// layer by more than its own size.
	explodingRatio = 1.0
	// vanishingFraction: a layer whose ‖g‖/‖w‖ is below this fraction of
	// the largest layer's learns thousands of times slower than the rest.
	vanishingFraction = 1e-4
	// deadNorm: a gradient norm below it is zero for all purposes.
	deadNorm = 1e-12
)

// flag returns an alert for each layer whose gradients vanish or explode
// at this measurement.
func flag(groups []paramGroup, n NormPoint, lr float64) []Alert {
	alerts := []Alert{}
	ratio := make([]float64, len(groups))
	top := 0.0
	for i := range groups {
		w := max(float64(n.Weight[i]), 1e-12)
		ratio[i] = float64(n.Grad[i]) / w
		if !math.IsNaN(ratio[i]) && !math.IsInf(ratio[i], 0) {
			top = max(top, ratio[i])
		}
	}
	for i, g := range groups {
		gn := float64(n.Grad[i])
		switch {
		case math.IsNaN(gn) || math.IsInf(gn, 0):
			alerts = append(alerts, Alert{g.name, "exploding", n.Step, fmt.Sprintf("layer %s: the gradient is not finite (%v)", g.name, gn)})
		case lr > 0 && lr*ratio[i] > explodingRatio:
			alerts = append(alerts, Alert{g.name, "exploding", n.Step,
				fmt.Sprintf("layer %s: gradient norm %.3g against weight norm %.3g: one step at lr %g moves the layer by more than its size", g.name, gn, float64(n.Weight[i]), lr)})
		case gn < deadNorm && anyTrainable(g):
			alerts = append(alerts, Alert{g.name, "vanishing", n.Step, fmt.Sprintf("layer %s: the gradient is zero: the layer does not learn (dead units?)", g.name)})
		case top > 0 && ratio[i] < vanishingFraction*top:
			alerts = append(alerts, Alert{g.name, "vanishing", n.Step,
				fmt.Sprintf("layer %s: gradient norm %.3g is %.0f× smaller, relative to its weights, than the most active layer's", g.name, gn, top/ratio[i])})
		}
	}
	return alerts
}

func anyTrainable(g paramGroup) bool {
	for _, p := range g.params {
		if p.RequiresGrad() {
			return true
		}
	}
	return false
}

// histograms bins each layer's weights and gradients.
func histograms(groups []paramGroup, step, bins int) []Histogram {
	out := make([]Histogram, len(groups))
	for i, g := range groups {
		var w, gr [][]float32
		for _, p := range g.params {
			w = append(w, p.Data.Data())
			if p.Grad != nil {
				gr = append(gr, p.Grad.Data())
			}
		}
		out[i] = Histogram{Layer: g.name, Step: step, Weight: binValues(w, bins), Grad: binValues(gr, bins)}
	}
	return out
}

// binValues counts the finite values of vs into bins equal bins between
// their minimum and maximum.
func binValues(vs [][]float32, bins int) Bins {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		for _, x := range v {
			f := float64(x)
			if !finite(f) {
				continue
			}
			if f < lo {
				lo = f
			}
			if f > hi {
				hi = f
			}
		}
	}
	b := Bins{Counts: make([]int, bins)}
	if lo > hi {
		return Bins{Counts: []int{}} // no finite values
	}
	b.Min, b.Max = Num(lo), Num(hi)
	width := (hi - lo) / float64(bins)
	for _, v := range vs {
		for _, x := range v {
			if !finite(float64(x)) {
				continue
			}
			k := 0
			if width > 0 {
				k = min(int((float64(x)-lo)/width), bins-1)
			}
			b.Counts[k]++
		}
	}
	return b
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
