package nn

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"unsafe"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// StateShape is one state_dict entry that Build would make for a spec: its
// name, its shape, and whether it is a buffer rather than a parameter.
type StateShape struct {
	Name  string
	Shape []int
	// Buffer marks running statistics (not trained).
	Buffer bool
	// Optional marks an entry a file may leave out when loading strictly:
	// BatchNorm's num_batches_tracked, as PyTorch allows.
	Optional bool
}

// ModelShapes is what InferShapes works out from a spec and a sample shape,
// without allocating the model: its state_dict entries in order and each
// layer's output shape.
type ModelShapes struct {
	// State lists the entries in state_dict order, as NamedState would.
	State []StateShape
	// Outputs holds each layer's output shape, without the batch dimension.
	Outputs [][]int
}

// Output returns the model's output shape for one sample.
func (s *ModelShapes) Output() []int { return s.Outputs[len(s.Outputs)-1] }

// NumElements returns the number of elements of all state entries.
func (s *ModelShapes) NumElements() int {
	n := 0
	for _, e := range s.State {
		n += satNumel(e.Shape)
	}
	return n
}

// MaxActivation returns the number of elements of the largest layer output
// for one sample: a bound on what a forward pass holds per sample and layer.
func (s *ModelShapes) MaxActivation() int {
	m := 0
	for _, o := range s.Outputs {
		m = max(m, satNumel(o))
	}
	return m
}

// Check compares the inferred state with the shapes of a state dict (by
// name), as a strict load would, before anything of the model's size is
// allocated. It returns a *StateDictError naming every missing, unexpected
// or mis-shaped entry, or nil; an Optional entry may be missing.
func (s *ModelShapes) Check(have map[string][]int) error {
	if e := compareState(s.State, have, true); e != nil {
		return e
	}
	return nil
}

// InferShapes parses spec (see [ParseSpec]) and works out, without
// allocating any weight, the state_dict entries and layer output shapes
// that Build would make for samples of inputShape. It makes every check
// Build makes, with the same errors, so a spec it accepts builds; callers
// that load a file use it to compare the file's tensors with the spec
// before building. Of the options, only MaxSize applies.
func InferShapes(spec string, inputShape []int, opts ...Option) (*ModelShapes, error) {
	var c *config
	if err := catchOptions(func() { c = newConfig("InferShapes", []string{"MaxSize", "WithRNG", "Seed"}, opts) }); err != nil {
		return nil, err
	}
	parsed, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	if err := checkInputShape("nn.InferShapes", inputShape, c.maxSize); err != nil {
		return nil, err
	}
	return inferParsed(parsed, inputShape, c.maxSize)
}

// inferParsed is InferShapes on a parsed spec and a checked input shape.
func inferParsed(parsed Spec, inputShape []int, maxSize int) (*ModelShapes, error) {
	b := &LayerBuilder{rng: rand.New(rand.NewPCG(0, 0)), maxSize: maxSize}
	return b.inferSeq(parsed, inputShape)
}

// checkInputShape makes Build's checks of a sample shape.
func checkInputShape(op string, inputShape []int, maxSize int) error {
	if len(inputShape) == 0 {
		return fmt.Errorf("%s: empty input shape: give one sample's shape, such as [1 28 28]", op)
	}
	for _, d := range inputShape {
		if d < 1 {
			return fmt.Errorf("%s: input shape %v has a non-positive dimension", op, inputShape)
		}
	}
	if n := satNumel(inputShape); n > maxSize {
		return fmt.Errorf("%s: input shape %v has %d elements, more than the limit %d", op, inputShape, n, maxSize)
	}
	return nil
}

// Infer returns m's output for the batch x, computed without a graph: the
// values of m.Forward(ag.NoGraph(x)), bit for bit, for serving and
// prediction. In a Sequential model it hands each intermediate output back
// to the tensor package's buffer pool once the next layer has read it, so
// that a forward pass in steady state allocates (and zeroes) almost
// nothing; outputs that share storage with x, with the next output, or
// that a user-defined layer (a [FuncModule] or a type from another
// package, which may keep what it returns) produced are left alone. x is
// not modified. The caller owns the result and may hand it to
// tensor.Recycle when done with it.
func Infer(m Module, x *tensor.Tensor) *tensor.Tensor {
	return infer(m, x, nil)
}

// Inference is a model prepared for running inference many times with the
// same weights (a server's workers): its Infer gives [Infer]'s values bit
// for bit, with what depends on the weights alone computed once, by
// NewInference: the Winograd transforms of the 3×3 convolutions that
// Infer runs by Winograd (F(2×2, 3×3), and F(4×4, 3×3) where an image
// has 16 or more 4×4 output tiles; see tensor.Conv2dBatchNormReLUWinograd),
// which at batch 1 cost a fifth of such a convolution. For a [ResNetModule] these are its residual
// blocks' 3×3 stride-1 convolutions (see tensor.Conv2dBatchNormResidualFilter),
// which with a prepared weight take Winograd from 16 tiles of 2×2 outputs
// rather than 32, so that one 224×224 image's 7×7 planes of 512 channels
// take it too: there (a convolution of 16 to 31 tiles) the values differ
// from Infer's by rounding, elsewhere they are Infer's bit for bit.
// A layer whose weights have changed since is
// computed as Infer computes it (the prepared form keeps a copy to compare
// with), so a stale Inference is slower, never wrong. It is safe for
// concurrent use.
type Inference struct {
	m       Module
	filters map[*Conv2dModule]*tensor.WinogradFilter
}

// NewInference prepares m (its top-level layers, for a Sequential model;
// the residual blocks' 3×3 convolutions, for a [ResNetModule]) for
// [Inference.Infer].
func NewInference(m Module) *Inference {
	p := &Inference{m: m, filters: map[*Conv2dModule]*tensor.WinogradFilter{}}
	if r, ok := m.(*ResNetModule); ok {
		r.prepare(p)
		return p
	}
	s, ok := m.(*SequentialModule)
	if !ok {
		return p
	}
	for i, l := range s.Layers {
		c, ok := l.(*Conv2dModule)
		if !ok || c.Weight == nil || i+1 >= len(s.Layers) {
			continue
		}
		if _, bn := s.Layers[i+1].(*BatchNormModule); !bn {
			continue // only the conv-batch norm blocks take Winograd
		}
		if f := tensor.NewWinogradFilter(c.Weight.Data, c.Params); f != nil {
			p.filters[c] = f
		}
	}
	return p
}

// Infer is [Infer] of the prepared model.
func (p *Inference) Infer(x *tensor.Tensor) *tensor.Tensor {
	return infer(p.m, x, p)
}

// infer is Infer, with p's prepared layers where p is not nil.
func infer(m Module, x *tensor.Tensor, p *Inference) *tensor.Tensor {
	in := ag.NoGraph(x)
	if r, ok := m.(*ResNetModule); ok && p != nil {
		if y := r.forwardInfer(in, p); y != nil {
			return y.Data
		}
	}
	s, ok := m.(*SequentialModule)
	if !ok {
		if y := m.Forward(in); y != nil {
			return y.Data
		}
		return nil
	}
	v, owned := in, false
	for i := 0; i < len(s.Layers); {
		y, n := forwardFusedPrepared(s.Layers, i, v, p)
		if y == nil {
			return nil
		}
		if owned && !shareStorage(y.Data, v.Data) {
			tensor.Recycle(v.Data)
		}
		owned = ownsOutput(s.Layers[i:i+n]) && !shareStorage(y.Data, x)
		v, i = y, i+n
	}
	return v.Data
}

// nnPkg is this package's import path, for ownsOutput.
var nnPkg = reflect.TypeFor[SequentialModule]().PkgPath()

// ownsOutput reports whether the layers are built-in ones that keep no
// reference to what they return, so that the caller may recycle it.
func ownsOutput(layers []Module) bool {
	for _, l := range layers {
		t := reflect.TypeOf(l)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if _, user := l.(*FuncModule); user || t.PkgPath() != nnPkg {
			return false
		}
	}
	return true
}

// shareStorage reports whether a and b may share storage: their backing
// arrays overlap, or either is a view (whose storage is its base's).
func shareStorage(a, b *tensor.Tensor) bool {
	if a == nil || b == nil {
		return false
	}
	if a.IsView() || b.IsView() || !a.IsContiguous() || !b.IsContiguous() {
		return true
	}
	if a.DType() != tensor.Float32 || b.DType() != tensor.Float32 {
		return true
	}
	da, db := a.Data(), b.Data()
	if cap(da) == 0 || cap(db) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(unsafe.SliceData(da))), uintptr(unsafe.Pointer(unsafe.SliceData(db)))
	return a0 < b0+4*uintptr(cap(db)) && b0 < a0+4*uintptr(cap(da))
}
