package nn_test

import (
	"slices"
	"strings"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// gated is a module whose Forward takes two inputs: not an nn.Module.
type gated struct {
	nn.Container
	In, Gate *nn.LinearModule
	Scale    *ag.Value
}

func newGated(d int, seed uint64) *gated {
	g := &gated{}
	g.In = nn.Child(&g.Container, "in_proj", nn.Linear(d, d, nn.Seed(seed)))
	g.Gate = nn.Child(&g.Container, "gate", nn.Linear(d, d, nn.Seed(seed+1)))
	g.Scale = nn.Parameter(&g.Container, "scale", tensor.Ones(d))
	return g
}

func (g *gated) Forward(x, ctx *ag.Value) *ag.Value {
	return ag.Mul(ag.Mul(g.In.Forward(x), ag.Sigmoid(g.Gate.Forward(ctx))), g.Scale)
}

// stack holds gated blocks in a List and a head: a Module.
type stack struct {
	nn.Container
	Blocks *nn.List[*gated]
	Norm   *nn.LayerNormModule
	Head   *nn.LinearModule
}

func newStack(d, n int) *stack {
	s := &stack{}
	s.Blocks = nn.Child(&s.Container, "blocks", nn.NewList[*gated]())
	for i := range n {
		s.Blocks.Append(newGated(d, uint64(10*i)))
	}
	s.Norm = nn.Child(&s.Container, "norm", nn.LayerNorm([]int{d}))
	s.Head = nn.Child(&s.Container, "head", nn.Linear(d, 2, nn.Seed(99)))
	return s
}

func (s *stack) Forward(x *ag.Value) *ag.Value {
	h := x
	for _, b := range s.Blocks.Items {
		h = ag.Add(h, b.Forward(h, x))
	}
	return s.Head.Forward(s.Norm.Forward(h))
}

// TestContainerNames: registered children of any Forward signature, a
// List and parameters registered directly get PyTorch's dotted names, in
// registration order.
func TestContainerNames(t *testing.T) {
	m := newStack(3, 2)
	var names []string
	for _, e := range nn.NamedState(m) {
		names = append(names, e.Name)
	}
	want := []string{
		"blocks.0.scale", "blocks.0.in_proj.weight", "blocks.0.in_proj.bias", "blocks.0.gate.weight", "blocks.0.gate.bias",
		"blocks.1.scale", "blocks.1.in_proj.weight", "blocks.1.in_proj.bias", "blocks.1.gate.weight", "blocks.1.gate.bias",
		"norm.weight", "norm.bias", "head.weight", "head.bias",
	}
	if !slices.Equal(names, want) {
		t.Errorf("state names\n got %v\nwant %v", names, want)
	}
	var mods []string
	for _, nm := range nn.NamedModules(m) {
		mods = append(mods, nm.Name)
	}
	if want := []string{"", "blocks", "blocks.0", "blocks.0.in_proj", "blocks.0.gate", "blocks.1", "blocks.1.in_proj", "blocks.1.gate", "norm", "head"}; !slices.Equal(mods, want) {
		t.Errorf("modules %v, want %v", mods, want)
	}
	if err := nn.CheckRegistered(m); err != nil {
		t.Errorf("CheckRegistered on a fully registered model: %v", err)
	}
	// A block alone (not an nn.Module) has its own state dict.
	if sd := nn.StateDict(m.Blocks.At(1)); len(sd) != 5 || sd["gate.weight"] == nil {
		t.Errorf("state dict of one block: %v", slices.Sorted(mapsKeys(sd)))
	}
}

func mapsKeys(m map[string]*tensor.Tensor) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestContainerPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func(c *nn.Container)
		want string
	}{
		{"duplicate", func(c *nn.Container) {
			c.RegisterModule("a", nn.ReLU())
			c.RegisterParameter("a", ag.Param(tensor.Ones(1)))
		}, "already registered"},
		{"dot", func(c *nn.Container) { c.RegisterModule("a.b", nn.ReLU()) }, "no dot"},
		{"empty", func(c *nn.Container) { c.RegisterBuffer("", tensor.Ones(1)) }, "non-empty"},
		{"nil", func(c *nn.Container) { c.RegisterModule("a", nil) }, "nil"},
		{"nil list item", func(c *nn.Container) { nn.NewList[*nn.LinearModule](nil) }, "nil"},
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), c.want) {
					t.Errorf("%s: panic %v, want one containing %q", c.name, r, c.want)
				}
			}()
			c.f(&nn.Container{})
		}()
	}
}

// leaky registers only part of what it holds.
type leaky struct {
	nn.Container
	Used   *nn.LinearModule
	Extra  *nn.LinearModule // forgotten
	Bias   *ag.Value        // forgotten
	inner  struct{ w *ag.Value }
	Tied   *ag.Value // the registered Used.Weight, under another field
	Consts *ag.Value // a constant: not reported
	More   []*nn.LinearModule
}

func (l *leaky) Forward(x *ag.Value) *ag.Value { return l.Extra.Forward(l.Used.Forward(x)) }

// TestCheckRegistered: each unregistered module or parameter is reported
// by its field path; tied and constant values are not.
func TestCheckRegistered(t *testing.T) {
	l := &leaky{}
	l.Used = nn.Child(&l.Container, "used", nn.Linear(2, 2))
	l.Extra = nn.Linear(2, 2)
	l.Bias = ag.Param(tensor.Zeros(2))
	l.inner.w = ag.Param(tensor.Zeros(2))
	l.Tied = l.Used.Weight
	l.Consts = ag.Const(tensor.Ones(2))
	l.More = []*nn.LinearModule{nn.Linear(2, 2, nn.NoBias())}
	model := nn.Sequential(nn.Flatten(), l)
	err := nn.CheckRegistered(model)
	if err == nil {
		t.Fatal("CheckRegistered found nothing")
	}
	msg := err.Error()
	for _, w := range []string{
		`module "1" (*nn_test.leaky): field Extra (*nn.LinearModule) holds 2 parameters that are not registered`,
		"field Bias (a trainable *autograd.Value) is not a registered parameter",
		"field inner.w (a trainable",
		"field More[0] (*nn.LinearModule) holds 1 parameter that is not registered",
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("error lacks %q:\n%s", w, msg)
		}
	}
	for _, bad := range []string{"Tied", "Consts", "Used"} {
		if strings.Contains(msg, "field "+bad) {
			t.Errorf("error reports %s:\n%s", bad, msg)
		}
	}
	if n := strings.Count(msg, "\n") + 1; n != 4 {
		t.Errorf("%d problems reported, want 4:\n%s", n, msg)
	}
	// The classic hand-written Parent that forgets a child.
	r := &Residual{Conv1: nn.Conv2d(1, 1, 3), Conv2: nn.Conv2d(1, 1, 3)}
	if err := nn.CheckRegistered(r); err != nil {
		t.Errorf("Residual lists both children: %v", err)
	}
	if err := nn.CheckRegistered(&halfParent{Residual: r}); err == nil || !strings.Contains(err.Error(), "field Residual.Conv2") {
		t.Errorf("a Parent that forgets Conv2: %v", err)
	}
	for _, spec := range []string{"cnn", "conv(4,3) batchnorm relu dropout flatten linear(3) residual(linear(3) gelu)"} {
		m, err := nn.Build(spec, []int{1, 28, 28})
		if err != nil {
			t.Fatal(err)
		}
		if err := nn.CheckRegistered(m); err != nil {
			t.Errorf("built-in layers of %q: %v", spec, err)
		}
	}
}

// halfParent lists only Conv1 of the residual it wraps.
type halfParent struct{ *Residual }

func (h *halfParent) Children() []nn.NamedModule {
	return []nn.NamedModule{{Name: "conv1", Module: h.Conv1}}
}

// TestClone: a clone has the same structure, names and values, its own
// storage (training it leaves the original unchanged) and the original's
// tied weights, modes, freezing and generator states.
func TestClone(t *testing.T) {
	m, err := nn.Build("conv(4,3,pad=1) batchnorm relu dropout(0.5) flatten linear(3)", []int{1, 4, 4}, nn.Seed(3))
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(3, 2)
	s.Blocks.At(1).Gate.Weight = s.Blocks.At(0).Gate.Weight // not registered twice: tied through the field only
	nn.Freeze(s.Blocks.At(0))

	c := nn.Clone(m)
	if c == m || c.Layers[0] == m.Layers[0] {
		t.Fatal("Clone returned the same model")
	}
	if c.Spec() != m.Spec() || !slices.Equal(c.InputShape, m.InputShape) {
		t.Errorf("clone spec %q shape %v, want %q %v", c.Spec(), c.InputShape, m.Spec(), m.InputShape)
	}
	orig, cl := nn.NamedState(m), nn.NamedState(c)
	for i := range orig {
		if orig[i].Name != cl[i].Name || !slices.Equal(orig[i].Tensor.Data(), cl[i].Tensor.Data()) {
			t.Errorf("entry %d: %s differs in the clone", i, orig[i].Name)
		}
		if &orig[i].Tensor.Data()[0] == &cl[i].Tensor.Data()[0] {
			t.Errorf("%s shares storage with the clone", orig[i].Name)
		}
	}
	// Same dropout masks from the same generator state.
	x := ag.Const(tensor.FromFunc(func(i int) float32 { return float32(i%7) - 3 }, 2, 1, 4, 4))
	if !slices.Equal(m.Forward(x).Data.Data(), c.Forward(x).Data.Data()) {
		t.Error("clone computes a different output (dropout generator not copied?)")
	}
	// Training the clone leaves the original as it was.
	before := nn.Clone(m)
	opt := optim.SGD(nn.Parameters(c), optim.LR(0.1))
	nn.CrossEntropy(c.Forward(x), []int{0, 2}).Backward()
	opt.Step()
	for i, e := range nn.NamedState(m) {
		if !slices.Equal(e.Tensor.Data(), nn.NamedState(before)[i].Tensor.Data()) {
			t.Errorf("training the clone changed the original's %s", e.Name)
		}
	}
	if slices.Equal(nn.NamedState(c)[0].Tensor.Data(), nn.NamedState(m)[0].Tensor.Data()) {
		t.Error("training the clone did not change it")
	}

	sc := nn.Clone(s)
	if sc.Blocks.At(1).Gate.Weight != sc.Blocks.At(0).Gate.Weight || sc.Blocks.At(0).Gate.Weight == s.Blocks.At(0).Gate.Weight {
		t.Error("a tied weight is not tied (or not copied) in the clone")
	}
	if sc.Children()[0].Module != any(sc.Blocks) {
		t.Error("the clone's registrations do not point at its own fields")
	}
	if b := sc.Blocks.At(0); b.Scale.RequiresGrad() || !b.Frozen() || sc.Blocks.At(1).Frozen() {
		t.Error("the clone lost the freezing of a module or a parameter")
	}
	if err := nn.CheckRegistered(sc); err != nil {
		t.Errorf("the clone of a registered model: %v", err)
	}
}

// TestFreezeFineTune: a frozen conv+BatchNorm backbone under a trainable
// head, trained with AdamW (weight decay included) while Train is called
// every step as train.Fit does, keeps its weights and running statistics
// bit for bit; the head learns.
func TestFreezeFineTune(t *testing.T) {
	backbone, err := nn.Build("conv(4,3,pad=1) batchnorm relu dropout(0.3) globalavgpool", []int{1, 6, 6}, nn.Seed(5))
	if err != nil {
		t.Fatal(err)
	}
	// "Pretrain": make the running statistics something other than 0 and 1.
	for range 3 {
		backbone.Forward(ag.Const(tensor.FromFunc(func(i int) float32 { return float32(i%11) / 5 }, 4, 1, 6, 6)))
	}
	type model struct {
		nn.Container
		Backbone *nn.SequentialModule
		Head     *nn.LinearModule
	}
	m := &model{}
	m.Backbone = nn.Child(&m.Container, "backbone", backbone)
	m.Head = nn.Child(&m.Container, "head", nn.Linear(4, 3, nn.Seed(6)))
	nn.Freeze(m.Backbone)

	frozen := map[string][]float32{}
	for _, e := range nn.NamedState(m.Backbone) {
		frozen[e.Name] = slices.Clone(e.Tensor.Data())
	}
	head := slices.Clone(m.Head.Weight.Data.Data())
	opt := optim.AdamW(nn.Parameters(m), optim.LR(0.05), optim.WeightDecay(0.1))
	x := ag.Const(tensor.FromFunc(func(i int) float32 { return float32(i%13)/6 - 1 }, 8, 1, 6, 6))
	labels := []int{0, 1, 2, 0, 1, 2, 0, 1}
	var first, last float32
	for step := range 20 {
		nn.Train(m) // as train.Fit does each epoch
		loss := nn.CrossEntropy(m.Head.Forward(m.Backbone.Forward(x)), labels)
		loss.Backward()
		for _, p := range nn.Parameters(m.Backbone) {
			if p.Grad != nil {
				t.Fatalf("step %d: a frozen parameter got a gradient", step)
			}
		}
		opt.Step()
		opt.ZeroGrad()
		if step == 0 {
			first = loss.Item()
		}
		last = loss.Item()
	}
	for _, e := range nn.NamedState(m.Backbone) {
		if !slices.Equal(e.Tensor.Data(), frozen[e.Name]) {
			t.Errorf("frozen %s changed: %v → %v", e.Name, frozen[e.Name], e.Tensor.Data())
		}
	}
	if bn := m.Backbone.Layers[1].(*nn.BatchNormModule); bn.Training() {
		t.Error("the frozen BatchNorm is in training mode after Train")
	}
	if slices.Equal(head, m.Head.Weight.Data.Data()) || !(last < first) {
		t.Errorf("the head did not learn: loss %v → %v", first, last)
	}
	if got := len(nn.TrainableParameters(m)); got != 2 {
		t.Errorf("%d trainable parameters, want the head's 2", got)
	}

	// Unfreeze: the next Train puts the backbone back in training mode.
	nn.Unfreeze(m.Backbone)
	nn.Train(m)
	if bn := m.Backbone.Layers[1].(*nn.BatchNormModule); !bn.Training() || !bn.Weight.RequiresGrad() {
		t.Error("Unfreeze then Train left the BatchNorm frozen or in evaluation mode")
	}
}

// TestFreezeMiddle: a frozen layer in the middle, run as a fused
// Conv2d-ReLU-MaxPool2d or Linear-ReLU op, passes gradients through to the
// trainable layers before it and takes none itself.
func TestFreezeMiddle(t *testing.T) {
	cases := []struct {
		spec  string
		shape []int
	}{
		{"conv(2,3,pad=1) conv(2,3,pad=1) relu maxpool(2) flatten linear(3)", []int{1, 4, 4}},
		{"linear(4) linear(4) relu linear(3)", []int{5}},
	}
	for _, c := range cases {
		m, err := nn.Build(c.spec, c.shape, nn.Seed(2))
		if err != nil {
			t.Fatal(err)
		}
		nn.Freeze(m.Layers[1])
		x := ag.Const(tensor.FromFunc(func(i int) float32 { return float32(i%5) - 2 }, append([]int{2}, c.shape...)...))
		nn.CrossEntropy(m.Forward(x), []int{0, 1}).Backward()
		for _, p := range nn.NamedParameters(m) {
			frozen := strings.HasPrefix(p.Name, "1.")
			if (p.Value.Grad == nil) != frozen {
				t.Errorf("%s: %s has gradient %v (frozen %v)", c.spec, p.Name, p.Value.Grad != nil, frozen)
			}
		}
	}
}

// customMode is a user layer with a training mode but no FreezeFlag.
type customMode struct{ training bool }

func (c *customMode) Forward(x *ag.Value) *ag.Value { return x }
func (c *customMode) SetTraining(on bool)           { c.training = on }
func (c *customMode) Training() bool                { return c.training }

// TestFreezeInherited: a layer that cannot remember being frozen stays in
// evaluation mode below a frozen Sequential, List or Container.
func TestFreezeInherited(t *testing.T) {
	a, b, c := &customMode{}, &customMode{}, &customMode{}
	seq := nn.Sequential(a)
	list := nn.NewList(b)
	box := &gated{}
	box.RegisterModule("c", c)
	root := &nn.Container{}
	root.RegisterModule("seq", seq)
	root.RegisterModule("list", list)
	root.RegisterModule("box", box)
	for _, m := range []nn.Freezer{seq, list, box} {
		nn.Freeze(m)
	}
	nn.Train(root)
	if a.training || b.training || c.training {
		t.Errorf("custom layers below frozen containers in training mode: %v %v %v", a.training, b.training, c.training)
	}
	nn.Unfreeze(root)
	nn.Train(root)
	if !a.training || !b.training || !c.training {
		t.Error("Unfreeze then Train left a custom layer in evaluation mode")
	}
}
