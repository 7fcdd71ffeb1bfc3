package nn

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// Container holds a module's children, parameters and buffers by name, as
// torch.nn.Module does for the attributes assigned to it. Embed one in a
// custom module and register each part as it is made:
//
//	type Block struct {
//		nn.Container
//		Attn *Attention
//		FC   *nn.LinearModule
//	}
//
//	func NewBlock(d int) *Block {
//		b := &Block{}
//		b.Attn = nn.Child(&b.Container, "attn", NewAttention(d))
//		b.FC = nn.Child(&b.Container, "fc", nn.Linear(d, d))
//		return b
//	}
//
// The embedding module then is a [Parent], a [ParameterOwner] and a
// [BufferOwner] with the registered names, in registration order (the
// state_dict order, as in PyTorch: a module's parameters, its buffers,
// then its children's, depth-first), and a [Freezer]. Its Forward may have
// any signature. A part assigned to a field but not registered gets
// gradients yet is never optimised or saved: [CheckRegistered] finds such
// fields.
//
// The zero Container is empty and ready to use.
type Container struct {
	children []NamedModule
	params   []NamedValue
	buffers  []NamedTensor
	FreezeFlag
}

// RegisterModule adds a child module under name, as PyTorch's
// register_module (add_module). m may be any module, whatever its Forward
// signature. It panics on an empty name, a name with a dot, a nil module,
// or a name already registered: programming errors.
func (c *Container) RegisterModule(name string, m any) {
	if m == nil {
		panic(fmt.Sprintf("nn.Container.RegisterModule: module %q is nil", name))
	}
	c.checkName("RegisterModule", name)
	c.children = append(c.children, NamedModule{name, m})
}

// RegisterParameter adds a parameter under name, as PyTorch's
// register_parameter; it panics as RegisterModule does.
func (c *Container) RegisterParameter(name string, v *ag.Value) {
	if v == nil {
		panic(fmt.Sprintf("nn.Container.RegisterParameter: parameter %q is nil", name))
	}
	c.checkName("RegisterParameter", name)
	c.params = append(c.params, NamedValue{name, v})
}

// RegisterBuffer adds a buffer (state saved in the state_dict but not
// trained) under name, as PyTorch's register_buffer; it panics as
// RegisterModule does.
func (c *Container) RegisterBuffer(name string, t *tensor.Tensor) {
	if t == nil {
		panic(fmt.Sprintf("nn.Container.RegisterBuffer: buffer %q is nil", name))
	}
	c.checkName("RegisterBuffer", name)
	c.buffers = append(c.buffers, NamedTensor{name, t})
}

func (c *Container) checkName(op, name string) {
	if name == "" || strings.Contains(name, ".") {
		panic(fmt.Sprintf("nn.Container.%s: name %q must be non-empty and have no dot", op, name))
	}
	taken := slices.ContainsFunc(c.children, func(m NamedModule) bool { return m.Name == name }) ||
		slices.ContainsFunc(c.params, func(p NamedValue) bool { return p.Name == name }) ||
		slices.ContainsFunc(c.buffers, func(b NamedTensor) bool { return b.Name == name })
	if taken {
		panic(fmt.Sprintf("nn.Container.%s: name %q is already registered", op, name))
	}
}

// Children returns the registered children in registration order.
func (c *Container) Children() []NamedModule { return slices.Clone(c.children) }

// LocalParameters returns the registered parameters in registration order.
func (c *Container) LocalParameters() []NamedValue { return slices.Clone(c.params) }

// LocalBuffers returns the registered buffers in registration order.
func (c *Container) LocalBuffers() []NamedTensor { return slices.Clone(c.buffers) }

// Child registers m as a child of c under name and returns it, so that a
// constructor can assign and register in one line:
//
//	b.FC = nn.Child(&b.Container, "fc", nn.Linear(d, d))
func Child[T any](c *Container, name string, m T) T {
	c.RegisterModule(name, m)
	return m
}

// Parameter registers a new parameter holding t under name and returns
// it: b.Scale = nn.Parameter(&b.Container, "scale", tensor.Ones(d)).
func Parameter(c *Container, name string, t *tensor.Tensor) *ag.Value {
	v := ag.Param(t)
	c.RegisterParameter(name, v)
	return v
}

// List holds modules of one type in order and names them by position,
// "0", "1", …, as torch.nn.ModuleList: a model with its blocks in a List
// registered as "blocks" has parameters named "blocks.0.fc.weight". T may
// be any module type (a block whose Forward takes a mask), so the items
// are typed: for _, b := range m.Blocks.Items { x = b.Forward(x, mask) }.
// A List has no Forward of its own.
type List[T any] struct {
	// Items are the modules; append with Append so that none is nil.
	Items []T
	FreezeFlag
}

// NewList returns a List of items; it panics on a nil item.
func NewList[T any](items ...T) *List[T] {
	l := &List[T]{}
	return l.Append(items...)
}

// Append adds items at the end and returns l; it panics on a nil item.
func (l *List[T]) Append(items ...T) *List[T] {
	for i, m := range items {
		if isNil(m) {
			panic(fmt.Sprintf("nn.List.Append: item %d is nil", i))
		}
	}
	l.Items = append(l.Items, items...)
	return l
}

// Len returns the number of items.
func (l *List[T]) Len() int { return len(l.Items) }

// At returns item i.
func (l *List[T]) At(i int) T { return l.Items[i] }

// Children returns the items named "0", "1", ….
func (l *List[T]) Children() []NamedModule {
	out := make([]NamedModule, len(l.Items))
	for i, m := range l.Items {
		out[i] = NamedModule{strconv.Itoa(i), m}
	}
	return out
}

// isNil reports whether m is nil or a nil pointer in an interface.
func isNil(m any) bool {
	if m == nil {
		return true
	}
	switch v := reflect.ValueOf(m); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Interface:
		return v.IsNil()
	}
	return false
}
