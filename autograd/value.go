// Package autograd is backprop's reverse-mode automatic differentiation.
//
// A *Value carries a tensor (Data), the gradient of a scalar loss with
// respect to it (Grad), and the rule that sends its gradient to the values it
// was computed from. Every differentiable op in this package builds a new
// Value whose backward rule stands next to its forward computation, in one
// function, so that a reader can check the derivative against the forward
// at a glance.
//
// Calling Backward on a result visits the graph reachable from it in reverse
// topological order, accumulating gradients into every Value that requires
// them (a value used twice receives both contributions). There is no global
// tape: graphs built in separate goroutines are independent. After Backward
// the graph's intermediate links are released, so memory does not grow over
// training steps.
//
// Graph mode is a property of the values, not of the process: there is no
// global switch. An op records its inputs and backward rule only when one of
// them requires a gradient and none is marked NoGraph; an op any of whose
// inputs is marked NoGraph records nothing and marks its output, so a whole
// forward pass started from NoGraph(x) builds no graph even though the
// model's parameters require gradients. Inference (NoGraph inputs) and
// training (Const inputs) may therefore run at the same time in different
// goroutines, on different models; a model's parameters must not be read by
// one goroutine while another's optimiser updates them.
//
// Views: Reshape, Flatten, Transpose, Permute, Narrow and Expand return
// values whose Data is a view of their input's (package tensor, Views), so
// MatMul(a, Transpose(b, -2, -1)) is MatMulNT(a, b) with no copy of b,
// forward or backward, and the element-wise ops read expanded and
// transposed operands in place. Their backward rules are views of the
// output's gradient (Reshape, Transpose, Permute, Concat's slices) or
// scatter into a zero gradient (Narrow) or sum (Expand); a parameter's
// gradient is always a contiguous tensor. No op writes its inputs' data.
// BackwardRelease recycles only storage an op made fresh, never a view's,
// and keeps the storage that a root view reads.
//
// Errors and panics: ops panic on mismatched shapes with a message that names
// the op and the shapes, since that is a programming error; nothing here
// reads files or user input, so nothing returns an error.
package autograd

import (
	"fmt"

	"github.com/backprop-go/backprop/tensor"
)

// Value is a node of the computation graph: a tensor, its gradient, and how
// to carry that gradient back to the node's inputs.
type Value struct {
	// Data is the forward result.
	Data *tensor.Tensor
	// Grad is d(loss)/d(Data), filled by Backward; nil until then and for
	// values that do not require a gradient.
	Grad *tensor.Tensor

	requiresGrad bool
	// noGraph marks a value whose descendants record no graph (NoGraph).
	noGraph bool
	// gradOwned says that Grad's storage belongs to this value alone (an op
	// made it fresh for it), so Backward may recycle it once the value's
	// rule has run. See addGradOwned.
	gradOwned bool
	// ownsData says that Data was made fresh by the op that computed v and
	// is shared with no other value (not a reshape view), so
	// BackwardRelease may recycle it.
	ownsData bool
	// base is the value whose Data this value's Data is a view of
	// (Reshape, Transpose, Permute, Narrow, Expand), nil otherwise.
	base     *Value
	parents  []*Value
	backward func() // sends Grad to parents; nil for leaves
}

// Param returns a leaf Value that requires a gradient: a trainable weight.
func Param(t *tensor.Tensor) *Value { return &Value{Data: t, requiresGrad: true} }

// Const returns a leaf Value that needs no gradient: an input or a target.
func Const(t *tensor.Tensor) *Value { return &Value{Data: t} }

// NoGraph returns a leaf Value for inference: it needs no gradient, and
// every op that takes it (or a value computed from it) as an input records
// nothing, however many of the op's other inputs require gradients. A
// model's Forward(NoGraph(x)) therefore builds no graph, holds no
// references to its intermediate values, and touches no parameter's
// gradient, while other goroutines train other models (or the same
// architecture) with graphs of their own.
func NoGraph(t *tensor.Tensor) *Value { return &Value{Data: t, noGraph: true} }

// Detached returns a Value that shares v's data, is cut from the graph and
// is marked like NoGraph, so that nothing computed from it records a graph.
// Use it to run a sub-computation on a value of a training graph without
// differentiating it (Detach gives a plain constant instead).
func Detached(v *Value) *Value { return NoGraph(v.Data) }

// NoGraph reports whether v is marked as needing no graph: a NoGraph or
// Detached leaf, or the result of an op one of whose inputs was marked.
func (v *Value) NoGraph() bool { return v.noGraph }

// RequiresGrad reports whether Backward will compute a gradient for v.
func (v *Value) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad turns gradient tracking on or off for a leaf (freezing a
// weight, for example). It panics on a value computed by an op, and when
// turning tracking on for a value marked NoGraph.
func (v *Value) SetRequiresGrad(on bool) {
	if v.backward != nil || v.parents != nil {
		panic("autograd.SetRequiresGrad: only leaves (Param, Const) can change requires-grad")
	}
	if on && v.noGraph {
		panic("autograd.SetRequiresGrad: a value marked NoGraph cannot require a gradient")
	}
	v.requiresGrad = on
}

// Shape returns the shape of v's data.
func (v *Value) Shape() []int { return v.Data.Shape() }

// Item returns the value of a one-element Value, such as a loss.
func (v *Value) Item() float32 { return v.Data.Item() }

// ZeroGrad drops v's gradient (the next Backward starts it from zero).
func (v *Value) ZeroGrad() { v.Grad, v.gradOwned = nil, false }

// ReleaseGrad is ZeroGrad that also hands the gradient's storage back to
// package tensor's pool when an op made it for v alone, so that the next
// Backward reuses it: for optimisers, once the update has read the
// gradient. The caller must keep no reference to the old Grad.
func (v *Value) ReleaseGrad() {
	if v.gradOwned {
		tensor.Recycle(v.Grad)
	}
	v.Grad, v.gradOwned = nil, false
}

// Detach returns a Value that shares v's data but is cut from the graph.
func (v *Value) Detach() *Value { return Const(v.Data) }

// String describes v by its data.
func (v *Value) String() string { return fmt.Sprintf("Value(%v)", v.Data) }

// result wraps an op's output. When an input is marked NoGraph the output
// is marked too and records nothing; otherwise, when any input requires a
// gradient, the output records its inputs and the backward rule, which the
// op sets with out.onBackward(func() {...}).
func result(data *tensor.Tensor, inputs ...*Value) *Value {
	out := &Value{Data: data}
	if anyNoGraph(inputs) {
		out.noGraph = true
		return out
	}
	for _, in := range inputs {
		if in != nil && in.requiresGrad {
			out.requiresGrad = true
			out.parents = inputs
			break
		}
	}
	return out
}

// anyNoGraph reports whether one of the inputs is marked NoGraph.
func anyNoGraph(inputs []*Value) bool {
	for _, in := range inputs {
		if in != nil && in.noGraph {
			return true
		}
	}
	return false
}

// recording reports whether an op on these inputs records a graph: none is
// marked NoGraph and one requires a gradient. Ops that would keep buffers
// for their backward rule (im2col columns) ask it before computing.
func recording(inputs ...*Value) bool {
	if anyNoGraph(inputs) {
		return false
	}
	for _, in := range inputs {
		if in != nil && in.requiresGrad {
			return true
		}
	}
	return false
}

// fresh is result for ops whose output tensor is new and shared with no
// other value (BackwardRelease may recycle it).
func fresh(data *tensor.Tensor, inputs ...*Value) *Value {
	out := result(data, inputs...)
	out.ownsData = true
	return out
}

// view is result for ops whose output is a view of x's data (nothing is
// copied): the output does not own its data, and it remembers x so that
// BackwardRelease does not recycle storage that the root still reads.
func view(data *tensor.Tensor, x *Value) *Value {
	out := result(data, x)
	out.base = x
	return out
}

// addGrad accumulates g into v's gradient. g must have v's shape; g may be
// kept by v, so callers pass a tensor they no longer use. g may share
// storage with other tensors, so v never recycles it.
func (v *Value) addGrad(g *tensor.Tensor) {
	if v == nil || !v.requiresGrad {
		return
	}
	checkGradShape(v, g)
	if v.Grad == nil {
		if v.backward == nil && !g.IsContiguous() { // a leaf's gradient is read by optimisers: pack it
			v.Grad, v.gradOwned = g.Contiguous(), true
			return
		}
		v.Grad, v.gradOwned = g, false
		return
	}
	tensor.AddInPlace(v.Grad, g)
}

// addGradOwned is addGrad for a g that the caller made fresh and shares with
// nothing (typically from tensor.Empty): it becomes v's own gradient, which
// Backward recycles when v is an intermediate, or, when v already has a
// gradient, it is added in place and recycled at once.
func (v *Value) addGradOwned(g *tensor.Tensor) {
	if v == nil || !v.requiresGrad {
		tensor.Recycle(g)
		return
	}
	checkGradShape(v, g)
	if v.Grad == nil {
		v.Grad, v.gradOwned = g, true
		return
	}
	tensor.AddInPlace(v.Grad, g)
	tensor.Recycle(g)
}

// addGradView gives v the gradient g, a view of from's gradient (a reshape,
// transpose or slice moves no values). When v takes the storage, ownership
// moves with it, so that from does not recycle storage that v still uses;
// package tensor never recycles a strided or sliced view itself, so such
// storage then goes to the garbage collector. A leaf (a parameter, read by
// optimisers) gets a packed copy of a strided view instead.
func (v *Value) addGradView(g *tensor.Tensor, from *Value) {
	if v == nil || !v.requiresGrad {
		return
	}
	checkGradShape(v, g)
	if !g.IsContiguous() && v.backward == nil && v.Grad == nil {
		v.Grad, v.gradOwned = g.Contiguous(), true
		return
	}
	if v.Grad == nil {
		v.Grad, v.gradOwned = g, from.gradOwned
		from.gradOwned = false
		return
	}
	tensor.AddInPlace(v.Grad, g)
}

func checkGradShape(v *Value, g *tensor.Tensor) {
	if !tensor.EqualShapes(g.Shape(), v.Data.Shape()) {
		panic(fmt.Sprintf("autograd: gradient of shape %v for value of shape %v", g.Shape(), v.Data.Shape()))
	}
}

// Backward computes the gradient of v, which must hold a single element,
// with respect to every value it depends on that requires a gradient.
func (v *Value) Backward() {
	if v.Data.Size() != 1 {
		panic(fmt.Sprintf("autograd.Backward: called on a value of shape %v; use BackwardWith for non-scalars", v.Data.Shape()))
	}
	v.BackwardWith(tensor.FullOf(v.Data.DType(), 1, v.Data.Shape()...))
}

// BackwardWith runs the backward pass from v with the given upstream
// gradient d(loss)/d(v), which must have v's shape. Gradients accumulate into
// the leaves' Grad; intermediate values are released from the graph.
//
// Memory rule: the gradients of intermediate values (every value computed
// by an op, except v itself) are set to nil and their storage goes back to
// package tensor's pool, to be reused by the next step, as do the
// temporaries ops keep for their backward rules (im2col columns, pooling
// indices, softmax probabilities). The Data of every value is left alone:
// a value the caller holds, such as the logits, stays valid after
// Backward. Leaves' gradients and v's gradient are never recycled.
func (v *Value) BackwardWith(grad *tensor.Tensor) { v.backwardWith(grad, false, nil) }

// BackwardRelease is Backward for a training loop that is done with the
// step's forward values: after the backward pass it also hands the Data of
// every intermediate value of the graph (every value an op computed, except
// v) back to package tensor's pool, so that the next step's forward pass
// reuses that memory instead of allocating it, and sets their Data to nil.
// Read what you need from them (the logits for the accuracy, say) before
// calling it; any later use of an intermediate's Data, or of a slice or
// reshape of it taken earlier, is a bug. Leaves (Param, Const) and v keep
// their data. Views (Reshape, Flatten) share data with their input and
// are not recycled twice.
func (v *Value) BackwardRelease() {
	if v.Data.Size() != 1 {
		panic(fmt.Sprintf("autograd.BackwardRelease: called on a value of shape %v; it needs a single element", v.Data.Shape()))
	}
	v.backwardWith(tensor.FullOf(v.Data.DType(), 1, v.Data.Shape()...), true, nil)
}

// BackwardReleaseHook is BackwardRelease that calls ready(p), on the
// calling goroutine, for every leaf p of the graph that requires a
// gradient (the parameters) as soon as p's gradient is final: when the
// pass reaches p, all of the ops that used p have sent it their share,
// and the ops before them are still to run. Data-parallel training uses it
// to start averaging the last layers' gradients across replicas while the
// backward pass computes the first layers'. p.Grad is nil when no
// gradient reached p; ready must not change p.Grad's values (copy them).
// A leaf the graph does not reach is not reported.
func (v *Value) BackwardReleaseHook(ready func(p *Value)) {
	if v.Data.Size() != 1 {
		panic(fmt.Sprintf("autograd.BackwardReleaseHook: called on a value of shape %v; it needs a single element", v.Data.Shape()))
	}
	v.backwardWith(tensor.FullOf(v.Data.DType(), 1, v.Data.Shape()...), true, ready)
}

func (v *Value) backwardWith(grad *tensor.Tensor, release bool, ready func(*Value)) {
	if !tensor.EqualShapes(grad.Shape(), v.Data.Shape()) {
		panic(fmt.Sprintf("autograd.BackwardWith: gradient shape %v, value shape %v", grad.Shape(), v.Data.Shape()))
	}
	if !v.requiresGrad {
		panic("autograd.Backward: the value does not require a gradient (no Param in its graph, or computed from a NoGraph input)")
	}
	order := topoSort(v)
	if release {
		// v keeps its data: if it is a view, so must the values it views.
		for b := v.base; b != nil; b = b.base {
			if b.ownsData { // only values of this graph own data; leave shared leaves unwritten
				b.ownsData = false
			}
		}
	}
	v.addGrad(grad.Clone())
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if n.backward != nil && n.Grad != nil {
			n.backward()
		}
		if n.backward == nil && ready != nil && n != v {
			// A leaf comes after all of its consumers in reverse
			// topological order: its gradient is complete.
			ready(n)
		}
		if n.backward != nil {
			// An intermediate: its gradient and links are no longer needed.
			n.backward = nil
			n.parents = nil
			if n != v {
				if n.gradOwned {
					tensor.Recycle(n.Grad)
				}
				n.Grad, n.gradOwned = nil, false
				if release {
					if n.ownsData {
						tensor.Recycle(n.Data)
					}
					n.Data, n.ownsData = nil, false
				}
			}
		}
	}
}

// topoSort lists the nodes that require a gradient and are reachable from
// root, each after all of its parents, iteratively (deep graphs must not
// overflow the stack).
func topoSort(root *Value) []*Value {
	var order []*Value
	visited := map[*Value]bool{}
	type frame struct {
		v    *Value
		next int
	}
	stack := []frame{{v: root}}
	visited[root] = true
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next < len(top.v.parents) {
			p := top.v.parents[top.next]
			top.next++
			if p != nil && p.requiresGrad && !visited[p] {
				visited[p] = true
				stack = append(stack, frame{v: p})
			}
			continue
		}
		order = append(order, top.v)
		stack = stack[:len(stack)-1]
	}
	return order
}
