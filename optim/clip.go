package optim

import (
	"fmt"
	"math"

	"github.com/backprop-go/backprop/autograd"
)

// ClipGradNorm rescales the gradients of params so that their global norm
// is at most maxNorm (torch.nn.utils.clip_grad_norm_), and returns the norm
// before clipping. The norm is taken over all gradients together as if they
// were one vector:
//
//	total = (Σ |g|^p)^(1/p)         normType p > 0
//	total = max |g|                 normType = +Inf
//	g ← g · min(1, maxNorm/(total + 1e-6))
//
// Parameters with a nil Grad are skipped; with none it returns 0. Sums run in
// float64, in parameter order, so the result is deterministic. A NaN or Inf
// gradient gives a NaN or Inf total and, as in PyTorch with
// error_if_nonfinite=False, NaN gradients: check the returned norm. It
// panics when normType is not positive.
func ClipGradNorm(params []*autograd.Value, maxNorm, normType float64) (totalNorm float64) {
	if !(normType > 0) {
		panic(fmt.Sprintf("optim.ClipGradNorm: norm type %v, want > 0 or +Inf", normType))
	}
	total := 0.0
	switch {
	case math.IsInf(normType, 1):
		for _, p := range params {
			if p.Grad == nil {
				continue
			}
			for _, x := range p.Grad.Data() {
				a := math.Abs(float64(x))
				if a > total || a != a {
					total = a
				}
			}
		}
	case normType == 2:
		for _, p := range params {
			if p.Grad != nil {
				for _, x := range p.Grad.Data() {
					total += float64(x) * float64(x)
				}
			}
		}
		total = math.Sqrt(total)
	case normType == 1:
		for _, p := range params {
			if p.Grad != nil {
				for _, x := range p.Grad.Data() {
					total += math.Abs(float64(x))
				}
			}
		}
	default:
		for _, p := range params {
			if p.Grad != nil {
				for _, x := range p.Grad.Data() {
					total += math.Pow(math.Abs(float64(x)), normType)
				}
			}
		}
		total = math.Pow(total, 1/normType)
	}
	coef := maxNorm / (total + 1e-6)
	if coef < 1 || coef != coef {
		c := float32(coef)
		for _, p := range params {
			if p.Grad == nil {
				continue
			}
			g := p.Grad.Data()
			for i := range g {
				g[i] *= c
			}
		}
	}
	return total
}

// ClipGradValue clamps every gradient element of params to [−clip, clip]
// (torch.nn.utils.clip_grad_value_): g ← min(max(g, −clip), clip). NaN
// elements stay NaN. Parameters with a nil Grad are skipped. It panics when
// clip is negative or NaN.
func ClipGradValue(params []*autograd.Value, clip float64) {
	if !(clip >= 0) {
		panic(fmt.Sprintf("optim.ClipGradValue: clip value %v, want ≥ 0", clip))
	}
	hi := float32(clip)
	lo := -hi
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		g := p.Grad.Data()
		for i, x := range g {
			if x < lo {
				g[i] = lo
			} else if x > hi {
				g[i] = hi
			}
		}
	}
}
