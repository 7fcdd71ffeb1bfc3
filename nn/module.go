package nn

import (
	"github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// Module is a layer or a model that maps one input to one output: the
// common case, and what [Sequential], [Build] and train.Fit work with.
// Forward builds the autograd graph when gradients are enabled.
//
// Modules of other shapes — a block whose Forward takes a mask, or returns
// a state — are modules too: every function of this package that walks a
// model ([Walk], [Parameters], [StateDict], [SetTraining], [Freeze],
// [Clone], [CheckRegistered], ...) takes its argument as any and finds
// what a module has through the interfaces below, whatever its Forward.
// The easy way to write one is to embed a [Container] and register its
// children and parameters by name, as in PyTorch.
//
// The rest of a module's behaviour is discovered through optional
// interfaces, so that a module implements only what it has: [ParameterOwner]
// for its own weights, [BufferOwner] for state that is saved but not trained,
// [Parent] for sub-modules, [ModeSetter] for layers that behave differently
// in training and evaluation, [ShapeInferrer] for layers that can say their
// output shape without running, [Specer] for layers with a token in the
// architecture spec grammar, and [RNGOwner] for layers that draw random
// numbers while running.
type Module interface {
	Forward(x *autograd.Value) *autograd.Value
}

// NamedValue is a parameter with its name: a local name ("weight") from
// [ParameterOwner], or a full state_dict name ("1.weight") from
// [NamedParameters].
type NamedValue struct {
	Name  string
	Value *autograd.Value
}

// NamedTensor is a buffer or a state_dict entry with its name.
type NamedTensor struct {
	Name   string
	Tensor *tensor.Tensor
}

// NamedModule is a sub-module with the name that prefixes its parameters.
// Module is usually a [Module], but may be any module (see [Container]):
// a block whose Forward takes several inputs, or a [List].
type NamedModule struct {
	Name   string
	Module any
}

// ParameterOwner is implemented by modules that hold trainable tensors of
// their own (not counting sub-modules'). The order of the list is the order
// of the state_dict, so it should follow PyTorch's registration order
// (weight before bias).
type ParameterOwner interface {
	LocalParameters() []NamedValue
}

// BufferOwner is implemented by modules that hold state that is saved in
// the state_dict but not trained, such as BatchNorm's running statistics.
type BufferOwner interface {
	LocalBuffers() []NamedTensor
}

// Parent is implemented by modules made of other modules. Children returns
// them in the order their parameters should appear in the state_dict, each
// with the name that joins its parameters' names with a dot ("conv1" makes
// "conv1.weight"). A custom model usually needs only Forward and Children.
type Parent interface {
	Children() []NamedModule
}

// ModeSetter is implemented by layers that behave differently in training
// and evaluation (Dropout, BatchNorm). [SetTraining] calls it on every
// module of a model; a module's own children are reached by the walk, so
// a Parent need not forward the call.
type ModeSetter interface {
	SetTraining(training bool)
	Training() bool
}

// ShapeInferrer is implemented by layers that can compute their output
// shape from their input shape without running; both shapes exclude the
// batch dimension. Build and Summary use it to check a model before any
// data flows and to report shapes.
type ShapeInferrer interface {
	OutputShape(in []int) ([]int, error)
}

// Specer is implemented by layers that have a token in the architecture
// spec grammar (see [ParseSpec]); Spec returns that token in canonical form,
// such as "conv(32,3,pad=1)".
type Specer interface {
	Spec() string
}

// Walk calls f for m and every module below it, depth-first in Children
// order (PyTorch's named_modules order). name is the dotted path from m
// ("" for m itself). Walk stops early when f returns false.
//
// m and the modules below it may be of any type (see [Module]); those that
// implement none of the interfaces are leaves without parameters.
func Walk(m any, f func(name string, m any) bool) {
	walk("", m, f)
}

func walk(name string, m any, f func(string, any) bool) bool {
	if !f(name, m) {
		return false
	}
	if p, ok := m.(Parent); ok {
		for _, c := range p.Children() {
			if c.Module == nil {
				continue
			}
			if !walk(join(name, c.Name), c.Module, f) {
				return false
			}
		}
	}
	return true
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// NamedModules returns m and every module below it with its dotted name, in
// the order of [Walk]; m itself has the name "".
func NamedModules(m any) []NamedModule {
	var out []NamedModule
	Walk(m, func(name string, sub any) bool {
		out = append(out, NamedModule{name, sub})
		return true
	})
	return out
}

// NamedParameters returns every parameter of m with its state_dict name,
// in state_dict order: each module's own parameters, then its children's,
// depth-first. A parameter shared by two modules is listed once, under its
// first name, as PyTorch does. Frozen parameters are included (see
// [Freeze]); [TrainableParameters] leaves them out.
func NamedParameters(m any) []NamedValue {
	var out []NamedValue
	seen := map[*autograd.Value]bool{}
	Walk(m, func(prefix string, sub any) bool {
		for _, p := range localParameters(prefix, sub) {
			if !seen[p.Value] {
				seen[p.Value] = true
				out = append(out, p)
			}
		}
		return true
	})
	return out
}

// Parameters returns m's parameters in state_dict order: the list to give
// an optimiser. Like PyTorch's model.parameters() it returns them all,
// frozen ones included: an optimiser skips a parameter whose Grad is nil,
// and a frozen parameter never gets one, so giving it the whole list is
// safe; [TrainableParameters] gives only those that require a gradient.
func Parameters(m any) []*autograd.Value {
	named := NamedParameters(m)
	out := make([]*autograd.Value, len(named))
	for i, p := range named {
		out[i] = p.Value
	}
	return out
}

// TrainableParameters returns the parameters of m that require a gradient
// (those not frozen), in state_dict order: PyTorch's
// filter(lambda p: p.requires_grad, model.parameters()).
func TrainableParameters(m any) []*autograd.Value {
	var out []*autograd.Value
	for _, p := range NamedParameters(m) {
		if p.Value.RequiresGrad() {
			out = append(out, p.Value)
		}
	}
	return out
}

// NamedBuffers returns every buffer of m with its state_dict name, in
// state_dict order.
func NamedBuffers(m any) []NamedTensor {
	var out []NamedTensor
	Walk(m, func(prefix string, sub any) bool {
		out = append(out, localBuffers(prefix, sub)...)
		return true
	})
	return out
}

// localParameters lists sub's own parameters (not its children's) under
// their full names, skipping absent ones (a bias turned off).
func localParameters(prefix string, sub any) []NamedValue {
	po, ok := sub.(ParameterOwner)
	if !ok {
		return nil
	}
	var out []NamedValue
	for _, p := range po.LocalParameters() {
		if p.Value != nil {
			out = append(out, NamedValue{join(prefix, p.Name), p.Value})
		}
	}
	return out
}

// localBuffers lists sub's own buffers under their full names.
func localBuffers(prefix string, sub any) []NamedTensor {
	bo, ok := sub.(BufferOwner)
	if !ok {
		return nil
	}
	var out []NamedTensor
	for _, b := range bo.LocalBuffers() {
		if b.Tensor != nil {
			out = append(out, NamedTensor{join(prefix, b.Name), b.Tensor})
		}
	}
	return out
}

// NumParameters returns the number of elements of m's parameters.
func NumParameters(m any) int {
	n := 0
	for _, p := range NamedParameters(m) {
		n += p.Value.Data.Size()
	}
	return n
}

// SetTraining puts every module of m in training (true) or evaluation
// (false) mode, as PyTorch's model.train(mode), except that a frozen module
// (see [Freeze]) and everything below it stays in evaluation mode: a
// frozen backbone's BatchNorm keeps its running statistics however often
// the loop calls Train.
func SetTraining(m any, training bool) {
	setTraining(m, training, false)
}

func setTraining(m any, training, frozenAbove bool) {
	frozen := frozenAbove || isFrozen(m)
	if ms, ok := m.(ModeSetter); ok {
		ms.SetTraining(training && !frozen)
	}
	if p, ok := m.(Parent); ok {
		for _, c := range p.Children() {
			if c.Module != nil {
				setTraining(c.Module, training, frozen)
			}
		}
	}
}

// Train puts m in training mode: Dropout drops, BatchNorm uses and updates
// batch statistics. Modules start in training mode, as in PyTorch.
func Train(m any) { SetTraining(m, true) }

// Eval puts m in evaluation mode: Dropout passes its input through,
// BatchNorm uses its running statistics.
func Eval(m any) { SetTraining(m, false) }

// ZeroGrad drops the gradients of all of m's parameters.
func ZeroGrad(m any) {
	for _, p := range Parameters(m) {
		p.ZeroGrad()
	}
}

// modeFlag is embedded by layers with a training mode. It starts in
// training mode, as torch.nn.Module does, and records freezing (a frozen
// layer stays in evaluation mode).
type modeFlag struct {
	eval bool
	FreezeFlag
}

// SetTraining sets the layer's mode.
func (f *modeFlag) SetTraining(training bool) { f.eval = !training }

// Training reports whether the layer is in training mode.
func (f *modeFlag) Training() bool { return !f.eval }
