package nn

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// Summary describes m like Keras's model.summary(): one row per layer
// with its state_dict name, type, output shape (N is the batch) and
// parameter count, then the totals. Buffers (BatchNorm's running
// statistics) count as non-trainable parameters, as in Keras, and so do
// parameters frozen with SetRequiresGrad(false).
//
// inputShape is one sample's shape, without the batch dimension. Output
// shapes come from ShapeInferrer where layers implement it; other modules
// are run once on zeros, from an autograd.NoGraph input, with their buffers and generator
// states restored afterwards. Rows for the children of a custom module
// show no shape. It fails when the shapes do not fit the model.
func Summary(m Module, inputShape []int) (string, error) {
	type row struct{ name, shape, params string }
	var rows []row
	add := func(name string, sub any, shape []int, depth int) {
		s := ""
		if shape != nil {
			s = shapeString(shape)
		}
		rows = append(rows, row{strings.Repeat("  ", depth) + name + " (" + typeName(sub) + ")", s, group(countAll(sub))})
	}
	var addTree func(prefix string, sub any, shape []int, depth int)
	addTree = func(prefix string, sub any, shape []int, depth int) {
		add(prefix, sub, shape, depth)
		if p, ok := sub.(Parent); ok {
			for _, c := range p.Children() {
				if c.Module != nil {
					addTree(join(prefix, c.Name), c.Module, nil, depth+1)
				}
			}
		}
	}
	top := []NamedModule{{"", m}}
	if s, ok := m.(*SequentialModule); ok {
		top = s.Children()
	}
	shape := append([]int{}, inputShape...)
	for _, c := range top {
		var err error
		if shape, err = outputShape(c.Module, shape); err != nil {
			if c.Name != "" {
				return "", fmt.Errorf("nn.Summary: layer %s (%s): %w", c.Name, typeName(c.Module), err)
			}
			return "", fmt.Errorf("nn.Summary: %w", err)
		}
		name := c.Name
		if name == "" {
			name = "model"
		}
		add(name, c.Module, shape, 0)
		if p, ok := c.Module.(Parent); ok {
			for _, cc := range p.Children() {
				if cc.Module != nil {
					addTree(join(c.Name, cc.Name), cc.Module, nil, 1)
				}
			}
		}
	}
	trainable, frozen := 0, 0
	for _, p := range NamedParameters(m) {
		if p.Value.RequiresGrad() {
			trainable += p.Value.Data.Size()
		} else {
			frozen += p.Value.Data.Size()
		}
	}
	for _, b := range NamedBuffers(m) {
		frozen += b.Tensor.Size()
	}
	w := [3]int{len("Layer (type)"), len("Output shape"), len("Param #")}
	for _, r := range rows {
		w[0], w[1], w[2] = max(w[0], len(r.name)), max(w[1], len(r.shape)), max(w[2], len(r.params))
	}
	var b strings.Builder
	line := strings.Repeat("=", w[0]+w[1]+w[2]+4) + "\n"
	fmt.Fprintf(&b, "%-*s  %-*s  %*s\n", w[0], "Layer (type)", w[1], "Output shape", w[2], "Param #")
	b.WriteString(line)
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s  %-*s  %*s\n", w[0], r.name, w[1], r.shape, w[2], r.params)
	}
	b.WriteString(line)
	fmt.Fprintf(&b, "Input shape: %s\n", shapeString(inputShape))
	fmt.Fprintf(&b, "Total params: %s\n", group(trainable+frozen))
	fmt.Fprintf(&b, "Trainable params: %s\n", group(trainable))
	fmt.Fprintf(&b, "Non-trainable params: %s\n", group(frozen))
	return b.String(), nil
}

// countAll counts the elements of a module's parameters and buffers.
func countAll(m any) int {
	n := NumParameters(m)
	for _, b := range NamedBuffers(m) {
		n += b.Tensor.Size()
	}
	return n
}

// typeName is the layer's type without package and "Module" suffix:
// "Conv2d" for *nn.Conv2dModule, "Residual" for a user's *main.Residual.
func typeName(m any) string {
	t := reflect.TypeOf(m)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	n := t.Name()
	if t.PkgPath() == "github.com/backprop-go/backprop/nn" {
		n = strings.TrimSuffix(n, "Module")
	}
	if f, ok := m.(*FuncModule); ok {
		n = f.Name
	}
	return n
}

func shapeString(s []int) string {
	parts := []string{"N"}
	for _, d := range s {
		parts = append(parts, strconv.Itoa(d))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// group writes n with thousands separators, as Keras does.
func group(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// outputShape infers m's output shape for a sample shape, by
// ShapeInferrer or, failing that, by running m on one sample of zeros.
func outputShape(m any, in []int) ([]int, error) {
	if si, ok := m.(ShapeInferrer); ok {
		return si.OutputShape(in)
	}
	if mod, ok := m.(Module); ok {
		return probeShape(mod, in)
	}
	return nil, fmt.Errorf("%T has no Forward(*autograd.Value) to infer a shape from", m)
}

// probeShape runs m on a batch of one zero sample (a NoGraph input, so
// no graph is built), and puts
// back what running changes: buffers (BatchNorm's running statistics) and
// generator states. A panic (a shape that does not fit) becomes an error.
func probeShape(m Module, in []int) (shape []int, err error) {
	buffers := NamedBuffers(m)
	saved := make([]*tensor.Tensor, len(buffers))
	for i, b := range buffers {
		saved[i] = b.Tensor.Clone()
	}
	rng, rngErr := RNGState(m)
	defer func() {
		for i, b := range buffers {
			b.Tensor.CopyFrom(saved[i])
		}
		if rngErr == nil {
			_ = SetRNGState(m, rng) // the state was just taken from m, so it fits
		}
		if r := recover(); r != nil {
			err = fmt.Errorf("input of shape %s: %v", shapeString(in), r)
		}
	}()
	y := m.Forward(ag.NoGraph(tensor.Zeros(append([]int{1}, in...)...)))
	s := y.Shape()
	if len(s) == 0 {
		return []int{}, nil
	}
	return append([]int{}, s[1:]...), nil
}
