package tensor

import (
	"fmt"
	"math"
)

// The kernels of the vision ops that cannot be composed from others at a
// reasonable cost: the hard activations and mish, adaptive average
// pooling and interpolation. The element-wise ones follow grad.go (a fast
// float32 loop split over goroutines, a plain float64 path); pooling and
// interpolation are written once for both dtypes as generic loops over a
// plane, split over the N·C planes, each plane computed alone, so the
// results do not depend on the thread count.

// Hardtanh returns x limited to [lo, hi], as torch.nn.functional.hardtanh
// (ReLU6 is Hardtanh(x, 0, 6)).
func Hardtanh(t *Tensor, lo, hi float32) *Tensor {
	t = contig(t)
	if is64("tensor.Hardtanh", t) {
		return map64(t, func(x float64) float64 { return min(max(x, float64(lo)), float64(hi)) })
	}
	return mapInto(t, func(off int, dst []float32) {
		for i, v := range t.data[off:][:len(dst)] {
			dst[i] = min(max(v, lo), hi)
		}
	})
}

// HardtanhGrad returns g where lo < x < hi and 0 elsewhere, the gradient
// through Hardtanh (PyTorch's hardtanh_backward passes nothing at the
// bounds, unlike clamp's).
func HardtanhGrad(g, x *Tensor, lo, hi float32) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.HardtanhGrad", g, x) {
		return zip64("tensor.HardtanhGrad", g, x, func(g, x float64) float64 {
			if x > float64(lo) && x < float64(hi) {
				return g // d/dx = 1 strictly inside
			}
			return 0
		})
	}
	checkSizes("tensor.HardtanhGrad", g, x)
	return mapInto(g, func(off int, dx []float32) {
		xd := x.data[off:][:len(dx)]
		for i, v := range g.data[off:][:len(dx)] {
			if xd[i] > lo && xd[i] < hi { // d/dx = 1 strictly inside, 0 outside
				dx[i] = v
			} else {
				dx[i] = 0
			}
		}
	})
}

// Hardsigmoid returns relu6(x+3)/6 element-wise.
func Hardsigmoid(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.Hardsigmoid", t) {
		return map64(t, func(x float64) float64 { return min(max(x+3, 0), 6) / 6 })
	}
	return mapInto(t, func(off int, dst []float32) {
		for i, v := range t.data[off:][:len(dst)] {
			dst[i] = min(max(v+3, 0), 6) / 6
		}
	})
}

// HardsigmoidGrad returns g/6 where -3 < x < 3 and 0 elsewhere.
func HardsigmoidGrad(g, x *Tensor) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.HardsigmoidGrad", g, x) {
		return zip64("tensor.HardsigmoidGrad", g, x, func(g, x float64) float64 {
			if x > -3 && x < 3 {
				return g / 6 // d/dx = 1/6 on the ramp
			}
			return 0
		})
	}
	checkSizes("tensor.HardsigmoidGrad", g, x)
	return mapInto(g, func(off int, dx []float32) {
		xd := x.data[off:][:len(dx)]
		for i, v := range g.data[off:][:len(dx)] {
			if xd[i] > -3 && xd[i] < 3 { // d/dx = 1/6 on the ramp
				dx[i] = v / 6
			} else {
				dx[i] = 0
			}
		}
	})
}

// Hardswish returns x·relu6(x+3)/6 element-wise.
func Hardswish(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.Hardswish", t) {
		return map64(t, func(x float64) float64 { return x * min(max(x+3, 0), 6) / 6 })
	}
	return mapInto(t, func(off int, dst []float32) {
		for i, v := range t.data[off:][:len(dst)] {
			dst[i] = v * min(max(v+3, 0), 6) / 6
		}
	})
}

// HardswishGrad returns the gradient through Hardswish as PyTorch's
// hardswish_backward gives it: 0 below -3, g·(x/3 + 1/2) on [-3, 3], g
// above.
func HardswishGrad(g, x *Tensor) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.HardswishGrad", g, x) {
		return zip64("tensor.HardswishGrad", g, x, func(g, x float64) float64 { return g * hardswishSlope(x) })
	}
	checkSizes("tensor.HardswishGrad", g, x)
	return mapInto(g, func(off int, dx []float32) {
		xd := x.data[off:][:len(dx)]
		for i, v := range g.data[off:][:len(dx)] {
			switch xv := xd[i]; { // d/dx = 0, x/3 + 1/2, 1
			case xv < -3:
				dx[i] = 0
			case xv <= 3:
				dx[i] = v * (xv/3 + 0.5)
			default:
				dx[i] = v
			}
		}
	})
}

func hardswishSlope(x float64) float64 {
	switch {
	case x < -3:
		return 0
	case x <= 3:
		return x/3 + 0.5
	}
	return 1
}

// Mish returns x·tanh(softplus(x)) element-wise, computed in float64.
func Mish(t *Tensor) *Tensor {
	t = contig(t)
	if is64("tensor.Mish", t) {
		return map64(t, mish64)
	}
	return mapInto(t, func(off int, dst []float32) {
		for i, v := range t.data[off:][:len(dst)] {
			dst[i] = float32(mish64(float64(v)))
		}
	})
}

// MishGrad returns g·(tanh(sp) + x·σ(x)·(1 - tanh²(sp))), sp = softplus(x):
// the gradient through Mish, as PyTorch's mish_backward writes it.
func MishGrad(g, x *Tensor) *Tensor {
	g, x = contig(g), contig(x)
	if is64("tensor.MishGrad", g, x) {
		return zip64("tensor.MishGrad", g, x, func(g, x float64) float64 { return g * mishSlope(x) })
	}
	checkSizes("tensor.MishGrad", g, x)
	return mapInto(g, func(off int, dx []float32) {
		xd := x.data[off:][:len(dx)]
		for i, v := range g.data[off:][:len(dx)] {
			dx[i] = v * float32(mishSlope(float64(xd[i])))
		}
	})
}

func mish64(x float64) float64 { return x * math.Tanh(softplus64(x)) }

func mishSlope(x float64) float64 {
	ts := math.Tanh(softplus64(x))
	return ts + x*sigmoid64(x)*(1-ts*ts) // d(x·tanh(sp))/dx, dsp/dx = σ(x)
}

// plane4 checks that x is [N,C,H,W] and returns N·C, H and W.
func plane4(op string, x *Tensor) (nc, h, w int) {
	if x.Dims() != 4 {
		panic(fmt.Sprintf("%s: input %v must be 4-D [N, C, H, W]", op, x.shape))
	}
	floatOperand(op, x)
	return x.shape[0] * x.shape[1], x.shape[2], x.shape[3]
}

// outputLike returns a tensor of x's dtype and the given shape, zeroed
// when zero is set (float32 from the pool, float64 fresh).
func outputLike(x *Tensor, zero bool, shape ...int) *Tensor {
	if x.dtype == Float64 {
		return new64(shape...)
	}
	if zero {
		return Zeros(shape...)
	}
	return Empty(shape...)
}

// minParallelPlanes is the fewest output elements worth a goroutine in
// the plane-wise kernels.
const minParallelPlanes = 1 << 14

// forPlanes runs f(lo, hi) over ranges of the nc planes, in parallel when
// each plane of size per is worth it.
func forPlanes(nc, per int, f func(lo, hi int)) {
	parallelFor(nc, max(1, minParallelPlanes/max(per, 1)), f)
}

// adaptiveWindow returns PyTorch's window [start, end) of output index i
// of n over an input of size in: floor(i·in/n) to ceil((i+1)·in/n).
func adaptiveWindow(i, n, in int) (int, int) {
	return i * in / n, ((i+1)*in + n - 1) / n
}

// AdaptiveAvgPool2d returns the mean of x [N,C,H,W] over the oh×ow windows
// of torch.nn.functional.adaptive_avg_pool2d: output (i, j) averages rows
// floor(i·H/oh) to ceil((i+1)·H/oh) and the columns alike.
func AdaptiveAvgPool2d(x *Tensor, oh, ow int) *Tensor {
	x = contig(x)
	nc, h, w := plane4("tensor.AdaptiveAvgPool2d", x)
	if oh < 1 || ow < 1 {
		panic(fmt.Sprintf("tensor.AdaptiveAvgPool2d: output size %dx%d must be positive", oh, ow))
	}
	out := outputLike(x, false, x.shape[0], x.shape[1], oh, ow)
	if x.dtype == Float64 {
		adaptivePool(x.f64, out.f64, nc, h, w, oh, ow)
	} else {
		adaptivePool(x.data, out.data, nc, h, w, oh, ow)
	}
	return out
}

func adaptivePool[F float32 | float64](x, y []F, nc, h, w, oh, ow int) {
	forPlanes(nc, oh*ow, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src, dst := x[p*h*w:][:h*w], y[p*oh*ow:][:oh*ow]
			for i := range oh {
				y0, y1 := adaptiveWindow(i, oh, h)
				for j := range ow {
					x0, x1 := adaptiveWindow(j, ow, w)
					var s F
					for r := y0; r < y1; r++ {
						for c := x0; c < x1; c++ {
							s += src[r*w+c]
						}
					}
					dst[i*ow+j] = s / F((y1-y0)*(x1-x0))
				}
			}
		}
	})
}

// AdaptiveAvgPool2dBackward returns the gradient of AdaptiveAvgPool2d with
// respect to x given gy [N,C,oh,ow]: each window's gradient divided by its
// size, added into every element of the window (windows may overlap).
func AdaptiveAvgPool2dBackward(x, gy *Tensor) *Tensor {
	x, gy = contig(x), contig(gy)
	nc, h, w := plane4("tensor.AdaptiveAvgPool2dBackward", x)
	is64("tensor.AdaptiveAvgPool2dBackward", x, gy)
	if gy.Dims() != 4 || gy.shape[0]*gy.shape[1] != nc {
		panic(fmt.Sprintf("tensor.AdaptiveAvgPool2dBackward: gradient %v for input %v", gy.shape, x.shape))
	}
	oh, ow := gy.shape[2], gy.shape[3]
	dx := outputLike(x, true, x.shape...)
	if x.dtype == Float64 {
		adaptivePoolGrad(gy.f64, dx.f64, nc, h, w, oh, ow)
	} else {
		adaptivePoolGrad(gy.data, dx.data, nc, h, w, oh, ow)
	}
	return dx
}

func adaptivePoolGrad[F float32 | float64](gy, dx []F, nc, h, w, oh, ow int) {
	forPlanes(nc, h*w, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			g, dst := gy[p*oh*ow:][:oh*ow], dx[p*h*w:][:h*w]
			for i := range oh {
				y0, y1 := adaptiveWindow(i, oh, h)
				for j := range ow {
					x0, x1 := adaptiveWindow(j, ow, w)
					v := g[i*ow+j] / F((y1-y0)*(x1-x0)) // d(mean)/dx = 1/window size
					for r := y0; r < y1; r++ {
						for c := x0; c < x1; c++ {
							dst[r*w+c] += v
						}
					}
				}
			}
		}
	})
}

// InterpMode is an interpolation mode of Interpolate.
type InterpMode int

const (
	// Nearest copies the input element at floor(dst·scale), PyTorch's
	// "nearest".
	Nearest InterpMode = iota
	// NearestExact copies the element at floor((dst+0.5)·scale), PyTorch's
	// "nearest-exact".
	NearestExact
	// Bilinear weighs the four nearest input elements, PyTorch's
	// "bilinear".
	Bilinear
)

// ParseInterpMode parses PyTorch's name of a mode: "nearest",
// "nearest-exact" or "bilinear".
func ParseInterpMode(s string) (InterpMode, error) {
	switch s {
	case "nearest":
		return Nearest, nil
	case "nearest-exact":
		return NearestExact, nil
	case "bilinear":
		return Bilinear, nil
	}
	return 0, fmt.Errorf("interpolation mode %q is not one of nearest, nearest-exact, bilinear", s)
}

// String returns PyTorch's name of the mode.
func (m InterpMode) String() string {
	switch m {
	case Nearest:
		return "nearest"
	case NearestExact:
		return "nearest-exact"
	case Bilinear:
		return "bilinear"
	}
	return fmt.Sprintf("InterpMode(%d)", int(m))
}

// InterpParams are the attributes of torch.nn.functional.interpolate for
// 4-D inputs. Give either Size (the output's [height, width]) or Scale
// (the scale factors): with Scale the output size is floor(in·scale) and,
// as PyTorch does when recompute_scale_factor is not set, the coordinates
// map through 1/scale rather than in/out. AlignCorners applies to
// Bilinear only.
type InterpParams struct {
	Mode         InterpMode
	Size         [2]int
	Scale        [2]float64
	AlignCorners bool
}

// OutputSize returns the output's [height, width] for an input of h×w.
func (p InterpParams) OutputSize(h, w int) ([2]int, error) {
	if p.Size != [2]int{} {
		if p.Size[0] < 1 || p.Size[1] < 1 {
			return [2]int{}, fmt.Errorf("interpolate: size %v must be positive", p.Size)
		}
		return p.Size, nil
	}
	if !(p.Scale[0] > 0 && p.Scale[1] > 0) || math.IsInf(p.Scale[0], 0) || math.IsInf(p.Scale[1], 0) {
		return [2]int{}, fmt.Errorf("interpolate: needs a positive size or scale factor, got size %v scale %v", p.Size, p.Scale)
	}
	out := [2]int{int(math.Floor(float64(h) * p.Scale[0])), int(math.Floor(float64(w) * p.Scale[1]))}
	if out[0] < 1 || out[1] < 1 {
		return [2]int{}, fmt.Errorf("interpolate: scale %v of a %dx%d input gives an empty output", p.Scale, h, w)
	}
	return out, nil
}

// interpTaps is, for every output index along one axis, the two input
// indices it reads and their weights (nearest modes: one index, weight 1).
type interpTaps struct {
	i0, i1 []int
	w0, w1 []float64
}

// axisTaps computes PyTorch's source coordinates along one axis of in
// elements resized to out; scale is the axis's scale factor (0 if the
// size was given).
func axisTaps(p InterpParams, in, out int, scale float64) interpTaps {
	t := interpTaps{i0: make([]int, out), i1: make([]int, out), w0: make([]float64, out), w1: make([]float64, out)}
	ratio := float64(in) / float64(out)
	if scale > 0 {
		ratio = 1 / scale
	}
	for d := range out {
		switch p.Mode {
		case Nearest, NearestExact:
			src := float64(d) * ratio
			if p.Mode == NearestExact {
				src = (float64(d) + 0.5) * ratio
			}
			i := min(int(math.Floor(src)), in-1)
			t.i0[d], t.i1[d], t.w0[d] = i, i, 1
		case Bilinear:
			var src float64
			if p.AlignCorners {
				if out > 1 {
					src = float64(d) * float64(in-1) / float64(out-1)
				}
			} else {
				src = max((float64(d)+0.5)*ratio-0.5, 0)
			}
			i := min(int(src), in-1)
			l := src - float64(i)
			t.i0[d], t.i1[d] = i, min(i+1, in-1)
			t.w0[d], t.w1[d] = 1-l, l
		default:
			panic(fmt.Sprintf("tensor.Interpolate: unknown mode %v", p.Mode))
		}
	}
	return t
}

// Interpolate resizes x [N,C,H,W] as torch.nn.functional.interpolate.
func Interpolate(x *Tensor, p InterpParams) *Tensor {
	x = contig(x)
	nc, h, w := plane4("tensor.Interpolate", x)
	size, err := p.OutputSize(h, w)
	if err != nil {
		panic("tensor.Interpolate: " + err.Error())
	}
	ty, tx := axisTaps(p, h, size[0], p.Scale[0]), axisTaps(p, w, size[1], p.Scale[1])
	out := outputLike(x, false, x.shape[0], x.shape[1], size[0], size[1])
	if x.dtype == Float64 {
		interp(x.f64, out.f64, nc, h, w, ty, tx)
	} else {
		interp(x.data, out.data, nc, h, w, ty, tx)
	}
	return out
}

func interp[F float32 | float64](x, y []F, nc, h, w int, ty, tx interpTaps) {
	oh, ow := len(ty.i0), len(tx.i0)
	forPlanes(nc, oh*ow, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src, dst := x[p*h*w:][:h*w], y[p*oh*ow:][:oh*ow]
			for i := range oh {
				r0, r1 := src[ty.i0[i]*w:][:w], src[ty.i1[i]*w:][:w]
				a0, a1 := F(ty.w0[i]), F(ty.w1[i])
				for j := range ow {
					c0, c1 := tx.i0[j], tx.i1[j]
					b0, b1 := F(tx.w0[j]), F(tx.w1[j])
					dst[i*ow+j] = a0*(b0*r0[c0]+b1*r0[c1]) + a1*(b0*r1[c0]+b1*r1[c1])
				}
			}
		}
	})
}

// InterpolateBackward returns the gradient of Interpolate(x, p) with
// respect to x given gy: each output's gradient added back into the input
// elements it read, with their weights.
func InterpolateBackward(x, gy *Tensor, p InterpParams) *Tensor {
	x, gy = contig(x), contig(gy)
	nc, h, w := plane4("tensor.InterpolateBackward", x)
	is64("tensor.InterpolateBackward", x, gy)
	size, err := p.OutputSize(h, w)
	if err != nil {
		panic("tensor.InterpolateBackward: " + err.Error())
	}
	if !EqualShapes(gy.shape, []int{x.shape[0], x.shape[1], size[0], size[1]}) {
		panic(fmt.Sprintf("tensor.InterpolateBackward: gradient %v for input %v resized to %v", gy.shape, x.shape, size))
	}
	ty, tx := axisTaps(p, h, size[0], p.Scale[0]), axisTaps(p, w, size[1], p.Scale[1])
	dx := outputLike(x, true, x.shape...)
	if x.dtype == Float64 {
		interpGrad(gy.f64, dx.f64, nc, h, w, ty, tx)
	} else {
		interpGrad(gy.data, dx.data, nc, h, w, ty, tx)
	}
	return dx
}

func interpGrad[F float32 | float64](gy, dx []F, nc, h, w int, ty, tx interpTaps) {
	oh, ow := len(ty.i0), len(tx.i0)
	forPlanes(nc, h*w, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			g, dst := gy[p*oh*ow:][:oh*ow], dx[p*h*w:][:h*w]
			for i := range oh {
				r0, r1 := dst[ty.i0[i]*w:][:w], dst[ty.i1[i]*w:][:w]
				a0, a1 := F(ty.w0[i]), F(ty.w1[i])
				for j := range ow {
					c0, c1 := tx.i0[j], tx.i1[j]
					b0, b1 := F(tx.w0[j]), F(tx.w1[j])
					v := g[i*ow+j] // dy/dx = the tap's weight
					r0[c0] += a0 * b0 * v
					r0[c1] += a0 * b1 * v
					r1[c0] += a1 * b0 * v
					r1[c1] += a1 * b1 * v
				}
			}
		}
	})
}
