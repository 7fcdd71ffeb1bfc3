package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	ag "github.com/backprop-go/backprop/autograd"
)

// ArgKind is the type of a spec argument.
type ArgKind int

const (
	// IntArg is a whole number in [Min, Max].
	IntArg ArgKind = iota
	// FloatArg is a finite number in [Min, Max].
	FloatArg
	// FlagArg is 0 or 1.
	FlagArg
	// StringArg is text: quoted ("gelu") anywhere, or a bare identifier
	// after key= (act=gelu).
	StringArg
)

// Arg declares one argument of a spec token.
type Arg struct {
	// Name is the argument's key: lower-case letters, digits and
	// underscores, starting with a letter.
	Name string
	Kind ArgKind
	// Required arguments have no default; ParseSpec fails without them.
	Required bool
	// Default is a number argument's default. It may lie outside
	// [Min, Max] as a value the spec cannot give, meaning "not given"
	// (layernorm's dims defaults to 0, all the sample's dimensions).
	Default float64
	// DefaultFrom names an earlier argument whose value is the default
	// (pooling's stride defaults to k); Default is then ignored.
	DefaultFrom string
	// Min and Max bound a number (inclusive); both 0 means no bound for a
	// FloatArg and [0, 2²⁴] for an IntArg.
	Min, Max float64
	// DefaultText is a StringArg's default.
	DefaultText string
	// Choices lists a StringArg's allowed values (lower case); nil allows
	// any text.
	Choices []string
	// Always makes the canonical form write the argument even at its
	// default (dropout's p).
	Always bool
}

// LayerDef declares a layer of the spec grammar: its token, its
// arguments, how to build it and how to work out its shapes without
// building it. [Register] adds one; the built-in layers are declared the
// same way. A layer's fused forms (Linear followed by ReLU computed as one
// op) are declared by the module it builds implementing [Fuser], so that
// they apply to a Sequential built by hand too.
type LayerDef struct {
	// Name is the token: lower-case letters, digits and underscores,
	// starting with a letter. Specs match it case-insensitively.
	Name string
	// Args are the arguments in positional order.
	Args []Arg
	// Positional is how many leading arguments the canonical form writes
	// positionally (the rest as key=value).
	Positional int
	// Body says that the layer takes a body: a nested sequence of layer
	// tokens, last inside its parentheses, as in "residual(linear(8) relu)".
	// The body is required and reaches the layer as LayerSpec.Body.
	Body bool
	// Build makes the layer for one sample of shape in (without the batch
	// dimension). It draws its weights through b.RNG and checks their
	// size with b.CheckWeight, and returns errors rather than panicking;
	// Build wraps them with the token and its column (a panic becomes
	// such an error too). The module gives its output shape through
	// ShapeInferrer, or else through Infer; it should implement Specer
	// (its canonical token) so that SpecOf and Save can write the
	// architecture that LoadModel rebuilds.
	Build func(b *LayerBuilder, l LayerSpec, in []int) (Module, error)
	// Infer, when set, returns the layer's own state_dict entries (names
	// relative to the layer) and its output shape for input in, without
	// allocating any weight, making every check Build makes. When nil,
	// InferShapes builds the layer (with a throwaway generator) and reads
	// its state and output shape: fine for layers without weights, but a
	// layer with weights should set Infer, so that LoadModel can refuse a
	// file naming huge layers before allocating them.
	Infer func(b *LayerBuilder, l LayerSpec, in []int) ([]StateShape, []int, error)
}

// MaxSpecDepth is how deeply bodies may nest in a spec
// ("residual(residual(relu))" has depth 2): far more than any real model,
// and a bound on the parser's recursion.
const MaxSpecDepth = 16

// registry holds the layer definitions by name. Layers register at
// program start (the built-ins in this package's init, user layers in
// theirs), as image formats and database drivers do; after that it is
// only read. The lock makes a late Register safe all the same.
var registry = struct {
	sync.RWMutex
	defs map[string]*LayerDef
}{defs: map[string]*LayerDef{}}

func init() {
	for _, d := range builtinLayers() {
		Register(d)
	}
}

// Register adds a layer to the spec grammar, for ParseSpec, Build,
// InferShapes and LoadModel. Call it from an init function. It panics on
// a definition that is not valid (a bad name, no Build, a duplicate
// argument, bounds that are not an interval) or a name already registered: those
// are programming errors.
func Register(def LayerDef) {
	d := def
	d.Args = slices.Clone(def.Args)
	for i := range d.Args {
		a := &d.Args[i]
		if a.Kind == IntArg && a.Min == 0 && a.Max == 0 {
			a.Max = maxSpecInt
		}
		if a.Kind == FlagArg {
			a.Min, a.Max = 0, 1
		}
		if a.Kind == FloatArg && a.Min == 0 && a.Max == 0 {
			a.Min, a.Max = math.Inf(-1), math.Inf(1)
		}
	}
	if err := checkDef(&d); err != nil {
		panic("nn.Register: " + err.Error())
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.defs[d.Name]; dup {
		panic(fmt.Sprintf("nn.Register: layer %q is already registered", d.Name))
	}
	registry.defs[d.Name] = &d
}

func isIdent(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

func checkDef(d *LayerDef) error {
	if !isIdent(d.Name) || strings.ToLower(d.Name) != d.Name {
		return fmt.Errorf("layer name %q must be lower-case letters, digits and underscores, starting with a letter", d.Name)
	}
	if d.Build == nil {
		return fmt.Errorf("layer %q has no Build function", d.Name)
	}
	if d.Positional < 0 || d.Positional > len(d.Args) {
		return fmt.Errorf("layer %q: Positional %d for %d arguments", d.Name, d.Positional, len(d.Args))
	}
	for i, a := range d.Args {
		if !isIdent(a.Name) || strings.ToLower(a.Name) != a.Name {
			return fmt.Errorf("layer %q: argument name %q must be lower-case letters, digits and underscores", d.Name, a.Name)
		}
		if slices.ContainsFunc(d.Args[:i], func(b Arg) bool { return b.Name == a.Name }) {
			return fmt.Errorf("layer %q: argument %q declared twice", d.Name, a.Name)
		}
		switch a.Kind {
		case IntArg, FloatArg, FlagArg:
			if a.DefaultFrom != "" {
				j := slices.IndexFunc(d.Args[:i], func(b Arg) bool { return b.Name == a.DefaultFrom })
				if j < 0 || d.Args[j].Kind != a.Kind {
					return fmt.Errorf("layer %q: argument %q takes its default from %q, which is not an earlier argument of its kind", d.Name, a.Name, a.DefaultFrom)
				}
			}
			if math.IsNaN(a.Min) || math.IsNaN(a.Max) || a.Min > a.Max {
				return fmt.Errorf("layer %q: argument %q has bounds [%v, %v]", d.Name, a.Name, a.Min, a.Max)
			}
		case StringArg:
			if !a.Required && checkText(a, a.DefaultText) != nil {
				return fmt.Errorf("layer %q: default %q of argument %q is not one of its choices", d.Name, a.DefaultText, a.Name)
			}
		default:
			return fmt.Errorf("layer %q: argument %q has an unknown kind %d", d.Name, a.Name, a.Kind)
		}
	}
	return nil
}

// lookupLayer returns the definition of a registered layer.
func lookupLayer(name string) (*LayerDef, bool) {
	registry.RLock()
	defer registry.RUnlock()
	d, ok := registry.defs[name]
	return d, ok
}

// LayerNames returns the names of the registered layers, sorted: the
// tokens ParseSpec accepts.
func LayerNames() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.defs))
	for n := range registry.defs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LayerBuilder is what a layer's Build and Infer functions get from Build
// and InferShapes: the generator to draw weights from, the size limit,
// and the means to build or infer a body.
type LayerBuilder struct {
	rng     *rand.Rand
	maxSize int
}

// RNG returns the option that makes a constructor draw from the model's
// generator, in layer order: pass it to Linear, Conv2d, Dropout... so that
// the same seed builds the same model. Under InferShapes it is a
// throwaway generator.
func (b *LayerBuilder) RNG() Option { return WithRNG(b.rng) }

// MaxSize returns the largest number of elements a weight or an output may
// have (see [MaxSize]).
func (b *LayerBuilder) MaxSize() int { return b.maxSize }

// CheckWeight returns an error when a weight of the given shape would
// have more than MaxSize elements.
func (b *LayerBuilder) CheckWeight(shape ...int) error {
	if n := satNumel(shape); n > b.maxSize {
		return fmt.Errorf("a weight of shape %v has more than %d elements", shape, b.maxSize)
	}
	return nil
}

// BuildBody builds a body (LayerSpec.Body) as a Sequential for input in,
// drawing from the model's generator, and returns it with its output
// shape. Its errors name the body's offending token; return them as they
// are.
func (b *LayerBuilder) BuildBody(body Spec, in []int) (*SequentialModule, []int, error) {
	inner := &LayerBuilder{rng: b.rng, maxSize: b.maxSize}
	return inner.buildSeq(body, in)
}

// InferBody works out a body's state (names relative to the body's
// Sequential: "0.weight") and output shapes without allocating it.
func (b *LayerBuilder) InferBody(body Spec, in []int) (*ModelShapes, error) {
	inner := &LayerBuilder{rng: b.rng, maxSize: b.maxSize}
	return inner.inferSeq(body, in)
}

// buildSeq builds a parsed spec, layer by layer, for input in.
func (b *LayerBuilder) buildSeq(spec Spec, in []int) (*SequentialModule, []int, error) {
	m := &SequentialModule{}
	shape := in
	for _, l := range spec {
		layer, out, err := b.buildOne(l, shape)
		if err != nil {
			return nil, nil, wrapSpecError(l, err)
		}
		m.Layers = append(m.Layers, layer)
		shape = out
	}
	return m, shape, nil
}

func (b *LayerBuilder) buildOne(l LayerSpec, in []int) (Module, []int, error) {
	def, ok := lookupLayer(l.Name)
	if !ok {
		return nil, nil, fmt.Errorf("unknown layer %q", l.Name)
	}
	layer, err := safeBuild(def, b, l, in)
	if err != nil {
		return nil, nil, err
	}
	if layer == nil {
		return nil, nil, fmt.Errorf("nn: layer %s built nil", l.Name)
	}
	var out []int
	if si, ok := layer.(ShapeInferrer); ok {
		if out, err = si.OutputShape(in); err != nil {
			return nil, nil, err
		}
	} else if _, out, err = b.inferOne(def, l, in); err != nil {
		return nil, nil, err
	}
	if satNumel(out) > b.maxSize {
		return nil, nil, fmt.Errorf("output shape %v has more than %d elements", out, b.maxSize)
	}
	return layer, out, nil
}

// inferSeq is InferShapes on a parsed spec and a checked input shape.
func (b *LayerBuilder) inferSeq(spec Spec, in []int) (*ModelShapes, error) {
	out := &ModelShapes{}
	shape := append([]int{}, in...)
	for i, l := range spec {
		def, ok := lookupLayer(l.Name)
		var state []StateShape
		var err error
		if !ok {
			err = fmt.Errorf("unknown layer %q", l.Name)
		} else {
			state, shape, err = b.inferOne(def, l, shape)
		}
		if err == nil && satNumel(shape) > b.maxSize {
			err = fmt.Errorf("output shape %v has more than %d elements", shape, b.maxSize)
		}
		if err != nil {
			return nil, wrapSpecError(l, err)
		}
		prefix := fmt.Sprint(i)
		for _, e := range state {
			e.Name = join(prefix, e.Name)
			out.State = append(out.State, e)
		}
		out.Outputs = append(out.Outputs, shape)
	}
	return out, nil
}

// inferOne is a layer's Infer, or, without one, building it with a
// throwaway generator and reading its state and output shape.
func (b *LayerBuilder) inferOne(def *LayerDef, l LayerSpec, in []int) ([]StateShape, []int, error) {
	if def.Infer != nil {
		return safeInfer(def, b, l, in)
	}
	tmp := &LayerBuilder{rng: rand.New(rand.NewPCG(0, 0)), maxSize: b.maxSize}
	m, err := safeBuild(def, tmp, l, in)
	if err != nil {
		return nil, nil, err
	}
	si, ok := m.(ShapeInferrer)
	if !ok {
		return nil, nil, fmt.Errorf("layer %s has neither Infer nor an OutputShape method", l.Name)
	}
	shape, err := si.OutputShape(in)
	if err != nil {
		return nil, nil, err
	}
	var state []StateShape
	Walk(m, func(prefix string, sub any) bool {
		for _, p := range localParameters(prefix, sub) {
			state = append(state, StateShape{Name: p.Name, Shape: p.Value.Shape()})
		}
		for _, t := range localBuffers(prefix, sub) {
			state = append(state, StateShape{Name: t.Name, Shape: t.Tensor.Shape(), Buffer: true})
		}
		return true
	})
	return state, shape, nil
}

// safeBuild runs a layer's Build, turning a panic (a constructor refusing
// its arguments) into an error, since Build returns errors.
func safeBuild(def *LayerDef, b *LayerBuilder, l LayerSpec, in []int) (m Module, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return def.Build(b, l, in)
}

// safeInfer is safeBuild for Infer.
func safeInfer(def *LayerDef, b *LayerBuilder, l LayerSpec, in []int) (state []StateShape, out []int, err error) {
	defer func() {
		if r := recover(); r != nil {
			state, out, err = nil, nil, fmt.Errorf("%v", r)
		}
	}()
	return def.Infer(b, l, in)
}

// wrapSpecError names l in err, unless err already names a token (one of
// l's body, which is more precise).
func wrapSpecError(l LayerSpec, err error) error {
	if se, ok := err.(*SpecError); ok {
		return se
	}
	return &SpecError{Column: l.Column, Token: l.String(), Msg: err.Error()}
}

// Fuser is implemented by layers that have fused forms: a pattern of this
// layer and the ones after it that autograd computes as one op, with the
// same values and gradients bit for bit, in fewer passes over memory.
// [SequentialModule.Forward] asks each layer in turn. ForwardFused applies
// the layer to x together with as many of the following layers (next) as
// it has a fused op for, and returns the output and the number of layers
// it applied, itself included; 0 means no fused form applies, and the
// layer's Forward runs.
type Fuser interface {
	ForwardFused(x *ag.Value, next []Module) (*ag.Value, int)
}
