package dashboard

import (
	"reflect"
	"strings"

	"github.com/backprop-go/backprop/nn"
)

// describe returns the run's description with one LayerInfo per layer of
// the model's top level (the boxes of the architecture diagram).
func describe(m nn.Module, arch string, shape []int, classes []string) RunInfo {
	info := RunInfo{Arch: arch, Shape: append([]int{}, shape...), NumClasses: len(classes), Layers: []LayerInfo{}}
	if len(classes) <= MaxClassNames {
		info.Classes = classes
	}
	if m == nil {
		return info
	}
	info.Parameters = nn.NumParameters(m)
	top := []nn.NamedModule{{Name: "model", Module: m}}
	if p, ok := m.(nn.Parent); ok {
		top = p.Children()
	}
	cur := append([]int{}, shape...)
	for _, c := range top {
		if c.Module == nil {
			continue
		}
		l := LayerInfo{Name: c.Name, Type: typeName(c.Module), Params: nn.NumParameters(c.Module)}
		if s, ok := c.Module.(nn.Specer); ok {
			l.Spec = s.Spec()
		}
		// Shapes come only from layers that can say theirs without
		// running: running a layer here would touch batch-norm
		// statistics in the middle of training. After the first layer
		// that cannot, the rest are unknown.
		if si, ok := c.Module.(nn.ShapeInferrer); ok && cur != nil {
			out, err := si.OutputShape(cur)
			if err == nil {
				l.Output = out
			}
			cur = out
		} else {
			cur = nil
		}
		info.Layers = append(info.Layers, l)
	}
	return info
}

// typeName is a layer's Go type without its package and the "Module"
// suffix of backprop's layers: "Linear" for *nn.LinearModule.
func typeName(m any) string {
	t := reflect.TypeOf(m)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if f, ok := m.(*nn.FuncModule); ok {
		return f.Name
	}
	return strings.TrimSuffix(t.Name(), "Module")
}
