package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
)

// The model zoo: torchvision's ResNet and MobileNetV2, module for module,
// so that their state_dict names and shapes are torchvision's exactly
// ("conv1.weight", "layer1.0.downsample.0.weight", "fc.weight";
// "features.1.conv.0.0.weight", "classifier.1.weight") and a state_dict
// saved from torchvision.models.resnet18() loads strictly. Each is also a
// spec token, resnet18(classes=1000), taking [3, H, W] images.

// zooArch describes one architecture of the zoo.
type zooArch struct {
	name  string
	build func(classes int, r *rand.Rand) Module
}

var zooArchs = []zooArch{
	{"resnet18", func(c int, r *rand.Rand) Module { return newResNet("resnet18", false, [4]int{2, 2, 2, 2}, c, r) }},
	{"resnet34", func(c int, r *rand.Rand) Module { return newResNet("resnet34", false, [4]int{3, 4, 6, 3}, c, r) }},
	{"resnet50", func(c int, r *rand.Rand) Module { return newResNet("resnet50", true, [4]int{3, 4, 6, 3}, c, r) }},
	{"mobilenet_v2", func(c int, r *rand.Rand) Module { return newMobileNetV2(c, r) }},
}

// ZooNames returns the names of the zoo's architectures: resnet18,
// resnet34, resnet50, mobilenet_v2.
func ZooNames() []string {
	names := make([]string, len(zooArchs))
	for i, a := range zooArchs {
		names[i] = a.name
	}
	return names
}

// Zoo returns the zoo's architecture name (see [ZooNames]; case does not
// matter) with a classifier for numClasses classes (torchvision's default
// is 1000), initialised as torchvision initialises it. Options: WithRNG,
// Seed.
func Zoo(name string, numClasses int, opts ...Option) (Module, error) {
	c := newConfig("Zoo", nil, opts)
	i := slices.IndexFunc(zooArchs, func(a zooArch) bool { return a.name == strings.ToLower(name) })
	if i < 0 {
		return nil, fmt.Errorf("nn.Zoo: unknown architecture %q (have %s)", name, strings.Join(ZooNames(), ", "))
	}
	if numClasses < 1 {
		return nil, fmt.Errorf("nn.Zoo: %d classes: must be positive", numClasses)
	}
	var m Module
	withRNG(c.rng, func(r *rand.Rand) { m = zooArchs[i].build(numClasses, r) })
	return m, nil
}

// ResNet18 returns torchvision's resnet18 (11,689,512 parameters with 1000
// classes). Options: WithRNG, Seed.
func ResNet18(numClasses int, opts ...Option) *ResNetModule {
	return mustZoo("resnet18", numClasses, opts).(*ResNetModule)
}

// ResNet34 returns torchvision's resnet34. Options: WithRNG, Seed.
func ResNet34(numClasses int, opts ...Option) *ResNetModule {
	return mustZoo("resnet34", numClasses, opts).(*ResNetModule)
}

// ResNet50 returns torchvision's resnet50 (Bottleneck blocks, stride on
// the 3×3 convolution: ResNet v1.5). Options: WithRNG, Seed.
func ResNet50(numClasses int, opts ...Option) *ResNetModule {
	return mustZoo("resnet50", numClasses, opts).(*ResNetModule)
}

// MobileNetV2 returns torchvision's mobilenet_v2 (width 1.0). Options:
// WithRNG, Seed.
func MobileNetV2(numClasses int, opts ...Option) *MobileNetV2Module {
	return mustZoo("mobilenet_v2", numClasses, opts).(*MobileNetV2Module)
}

func mustZoo(name string, numClasses int, opts []Option) Module {
	m, err := Zoo(name, numClasses, opts...)
	if err != nil {
		panic(err.Error())
	}
	return m
}

// kaimingConv returns a bias-free convolution initialised as torchvision's
// models do: kaiming_normal_(mode="fan_out", nonlinearity="relu").
func kaimingConv(in, out, k, stride, groups int, r *rand.Rand) *Conv2dModule {
	c := Conv2d(in, out, k, Stride(stride), Padding((k-1)/2), Groups(groups), NoBias(), WithRNG(r))
	KaimingNormal(c.Weight.Data, 0, FanOut, r)
	return c
}

// ResNetBlock is torchvision's BasicBlock (two 3×3 convolutions) or, with
// Conv3 set, its Bottleneck (1×1, 3×3, 1×1 with 4× expansion), each
// convolution followed by batch norm, with the shortcut x or, when the
// shape changes, Downsample(x) (a strided 1×1 convolution and batch norm).
type ResNetBlock struct {
	Container
	Conv1, Conv2, Conv3 *Conv2dModule
	BN1, BN2, BN3       *BatchNormModule
	// Downsample is nil when the block keeps its input's shape.
	Downsample *SequentialModule
}

func newResNetBlock(in, planes, stride int, bottleneck bool, r *rand.Rand) *ResNetBlock {
	b := &ResNetBlock{}
	out := planes
	if bottleneck {
		out = planes * 4
		b.Conv1 = Child(&b.Container, "conv1", kaimingConv(in, planes, 1, 1, 1, r))
		b.BN1 = Child(&b.Container, "bn1", BatchNorm2d(planes))
		b.Conv2 = Child(&b.Container, "conv2", kaimingConv(planes, planes, 3, stride, 1, r))
		b.BN2 = Child(&b.Container, "bn2", BatchNorm2d(planes))
		b.Conv3 = Child(&b.Container, "conv3", kaimingConv(planes, out, 1, 1, 1, r))
		b.BN3 = Child(&b.Container, "bn3", BatchNorm2d(out))
	} else {
		b.Conv1 = Child(&b.Container, "conv1", kaimingConv(in, planes, 3, stride, 1, r))
		b.BN1 = Child(&b.Container, "bn1", BatchNorm2d(planes))
		b.Conv2 = Child(&b.Container, "conv2", kaimingConv(planes, planes, 3, 1, 1, r))
		b.BN2 = Child(&b.Container, "bn2", BatchNorm2d(planes))
	}
	if stride != 1 || in != out {
		b.Downsample = Child(&b.Container, "downsample", Sequential(kaimingConv(in, out, 1, stride, 1, r), BatchNorm2d(out)))
	}
	return b
}

// Forward returns relu(F(x) + shortcut(x)).
func (b *ResNetBlock) Forward(x *ag.Value) *ag.Value {
	y := ag.ReLU(b.BN1.Forward(b.Conv1.Forward(x)))
	y = b.BN2.Forward(b.Conv2.Forward(y))
	if b.Conv3 != nil {
		y = b.BN3.Forward(b.Conv3.Forward(ag.ReLU(y)))
	}
	short := x
	if b.Downsample != nil {
		short = b.Downsample.Forward(x)
	}
	return ag.ReLU(ag.Add(y, short))
}

// OutputShape returns the block's output shape for input in.
func (b *ResNetBlock) OutputShape(in []int) ([]int, error) {
	main := []ShapeInferrer{b.Conv1, b.Conv2}
	if b.Conv3 != nil {
		main = append(main, b.Conv3)
	}
	out, err := chainShapes(in, main...)
	if err != nil {
		return nil, err
	}
	short := in
	if b.Downsample != nil {
		if short, err = b.Downsample.OutputShape(in); err != nil {
			return nil, err
		}
	}
	if !equalInts(out, short) {
		return nil, fmt.Errorf("resnet block: the residual branch gives %v, the shortcut %v", out, short)
	}
	return out, nil
}

// String describes the block as PyTorch prints it.
func (b *ResNetBlock) String() string {
	name := "BasicBlock"
	if b.Conv3 != nil {
		name = "Bottleneck"
	}
	return describe(name, b.Children())
}

func chainShapes(in []int, layers ...ShapeInferrer) ([]int, error) {
	shape := in
	for _, l := range layers {
		var err error
		if shape, err = l.OutputShape(shape); err != nil {
			return nil, err
		}
	}
	return shape, nil
}

// describe prints a module with its children, as PyTorch's repr does.
func describe(name string, children []NamedModule) string {
	var b strings.Builder
	b.WriteString(name + "(\n")
	for _, c := range children {
		s := fmt.Sprint(c.Module)
		if st, ok := c.Module.(fmt.Stringer); ok {
			s = st.String()
		}
		fmt.Fprintf(&b, "  (%s): %s\n", c.Name, indent(s))
	}
	b.WriteString(")")
	return b.String()
}

// ResNetModule is torchvision's ResNet: a 7×7 stride-2 stem with batch
// norm, ReLU and 3×3 max pooling, four stages of blocks (layer1 to
// layer4, 64 to 512 planes, the last three halving the resolution),
// adaptive average pooling to 1×1 and a linear classifier fc. Make one
// with [ResNet18], [ResNet34], [ResNet50] or [Zoo].
type ResNetModule struct {
	Container
	Arch       string
	NumClasses int
	Conv1      *Conv2dModule
	BN1        *BatchNormModule
	ReLU       *ReLUModule
	MaxPool    *MaxPool2dModule
	// Layers are layer1 to layer4, each a Sequential of *ResNetBlock.
	Layers  [4]*SequentialModule
	AvgPool *AdaptiveAvgPool2dModule
	FC      *LinearModule
}

func newResNet(arch string, bottleneck bool, blocks [4]int, classes int, r *rand.Rand) *ResNetModule {
	m := &ResNetModule{Arch: arch, NumClasses: classes}
	m.Conv1 = Child(&m.Container, "conv1", Conv2d(3, 64, 7, Stride(2), Padding(3), NoBias(), WithRNG(r)))
	KaimingNormal(m.Conv1.Weight.Data, 0, FanOut, r)
	m.BN1 = Child(&m.Container, "bn1", BatchNorm2d(64))
	m.ReLU = Child(&m.Container, "relu", ReLU())
	m.MaxPool = Child(&m.Container, "maxpool", MaxPool2d(3, Stride(2), Padding(1)))
	in := 64
	expansion := 1
	if bottleneck {
		expansion = 4
	}
	for i, n := range blocks {
		planes := 64 << i
		stride := 2
		if i == 0 {
			stride = 1
		}
		seq := Sequential()
		for j := range n {
			if j > 0 {
				stride = 1
			}
			seq.Append(newResNetBlock(in, planes, stride, bottleneck, r))
			in = planes * expansion
		}
		m.Layers[i] = Child(&m.Container, fmt.Sprintf("layer%d", i+1), seq)
	}
	m.AvgPool = Child(&m.Container, "avgpool", AdaptiveAvgPool2d(1, 1))
	m.FC = Child(&m.Container, "fc", Linear(in, classes, WithRNG(r)))
	return m
}

// Forward maps images x [N, 3, H, W] to logits [N, NumClasses]. Without
// a graph (x from ag.NoGraph, as nn.Infer runs it) and with the batch
// norms in evaluation mode, each convolution runs fused with its batch
// norm, residual add and ReLU (see tensor.Conv2dBatchNormResidual): the
// layers' values bit for bit, except for the 3×3 convolutions that
// Winograd suits (F(4×4, 3×3) or F(2×2, 3×3)), which differ by rounding.
func (m *ResNetModule) Forward(x *ag.Value) *ag.Value {
	if y := m.forwardInfer(x, nil); y != nil {
		return y
	}
	x = m.MaxPool.Forward(m.ReLU.Forward(m.BN1.Forward(m.Conv1.Forward(x))))
	for _, l := range m.Layers {
		x = l.Forward(x)
	}
	return m.FC.Forward(ag.Flatten(m.AvgPool.Forward(x)))
}

// OutputShape maps [3, H, W] to [NumClasses], checking that the image is
// large enough for every stage.
func (m *ResNetModule) OutputShape(in []int) ([]int, error) {
	layers := []ShapeInferrer{m.Conv1, m.BN1, m.MaxPool}
	for _, l := range m.Layers {
		layers = append(layers, l)
	}
	if _, err := chainShapes(in, append(layers, m.AvgPool)...); err != nil {
		return nil, err
	}
	return []int{m.NumClasses}, nil
}

// Spec returns the zoo token, as "resnet18(classes=10)".
func (m *ResNetModule) Spec() string { return zooSpec(m.Arch, m.NumClasses) }

// String describes the model as PyTorch prints it.
func (m *ResNetModule) String() string { return describe("ResNet", m.Children()) }

func zooSpec(arch string, classes int) string {
	if classes == 1000 {
		return arch
	}
	return fmt.Sprintf("%s(classes=%d)", arch, classes)
}

// convBNReLU6 is torchvision's Conv2dNormActivation with ReLU6: a
// Sequential of a bias-free k×k convolution (padding (k-1)/2), batch norm
// and ReLU6, named 0, 1, 2.
func convBNReLU6(in, out, k, stride, groups int, r *rand.Rand) *SequentialModule {
	return Sequential(kaimingConv(in, out, k, stride, groups, r), BatchNorm2d(out), ReLU6())
}

// InvertedResidual is MobileNetV2's block: a 1×1 expansion (omitted when
// the expansion ratio is 1), a depthwise 3×3 convolution, and a linear 1×1
// projection, all in the Sequential Conv (torchvision's "conv"), with the
// input added back when the shapes allow (stride 1, as many channels out
// as in).
type InvertedResidual struct {
	Container
	Conv *SequentialModule
	// UseResidual is set when the block adds its input to its output.
	UseResidual bool
}

func newInvertedResidual(in, out, stride, expand int, r *rand.Rand) *InvertedResidual {
	hidden := in * expand
	var layers []Module
	if expand != 1 {
		layers = append(layers, convBNReLU6(in, hidden, 1, 1, 1, r))
	}
	layers = append(layers, convBNReLU6(hidden, hidden, 3, stride, hidden, r),
		kaimingConv(hidden, out, 1, 1, 1, r), BatchNorm2d(out))
	b := &InvertedResidual{UseResidual: stride == 1 && in == out}
	b.Conv = Child(&b.Container, "conv", Sequential(layers...))
	return b
}

// Forward returns Conv(x), plus x when UseResidual is set.
func (b *InvertedResidual) Forward(x *ag.Value) *ag.Value {
	y := b.Conv.Forward(x)
	if b.UseResidual {
		return ag.Add(x, y)
	}
	return y
}

// OutputShape returns the block's output shape for input in.
func (b *InvertedResidual) OutputShape(in []int) ([]int, error) { return b.Conv.OutputShape(in) }

// String describes the block as PyTorch prints it.
func (b *InvertedResidual) String() string { return describe("InvertedResidual", b.Children()) }

// MobileNetV2Module is torchvision's MobileNetV2 at width 1.0: Features
// (a 3×3 stride-2 stem, 17 inverted residual blocks, a 1×1 convolution to
// 1280 channels), global average pooling, and Classifier (dropout 0.2 and
// a linear layer). Make one with [MobileNetV2] or [Zoo].
type MobileNetV2Module struct {
	Container
	NumClasses int
	Features   *SequentialModule
	Classifier *SequentialModule
}

func newMobileNetV2(classes int, r *rand.Rand) *MobileNetV2Module {
	m := &MobileNetV2Module{NumClasses: classes}
	feats := Sequential(convBNReLU6(3, 32, 3, 2, 1, r))
	in := 32
	// torchvision's inverted_residual_setting: expansion t, channels c,
	// repeats n, first stride s.
	for _, s := range [][4]int{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}} {
		for i := range s[2] {
			stride := s[3]
			if i > 0 {
				stride = 1
			}
			feats.Append(newInvertedResidual(in, s[1], stride, s[0], r))
			in = s[1]
		}
	}
	feats.Append(convBNReLU6(in, 1280, 1, 1, 1, r))
	m.Features = Child(&m.Container, "features", feats)
	fc := Linear(1280, classes, WithRNG(r))
	Normal(fc.Weight.Data, 0, 0.01, r)
	clear(fc.Bias.Data.Data())
	m.Classifier = Child(&m.Container, "classifier", Sequential(Dropout(0.2, WithRNG(r)), fc))
	return m
}

// Forward maps images x [N, 3, H, W] to logits [N, NumClasses].
func (m *MobileNetV2Module) Forward(x *ag.Value) *ag.Value {
	return m.Classifier.Forward(ag.Flatten(ag.AdaptiveAvgPool2d(m.Features.Forward(x), 1, 1)))
}

// OutputShape maps [3, H, W] to [NumClasses].
func (m *MobileNetV2Module) OutputShape(in []int) ([]int, error) {
	if _, err := m.Features.OutputShape(in); err != nil {
		return nil, err
	}
	return []int{m.NumClasses}, nil
}

// Spec returns the zoo token, as "mobilenet_v2(classes=10)".
func (m *MobileNetV2Module) Spec() string { return zooSpec("mobilenet_v2", m.NumClasses) }

// String describes the model as PyTorch prints it.
func (m *MobileNetV2Module) String() string { return describe("MobileNetV2", m.Children()) }

func init() {
	for _, a := range zooArchs {
		Register(LayerDef{
			Name: a.name, Args: []Arg{{Name: "classes", Kind: IntArg, Default: 1000, Min: 1, Max: 1 << 20}},
			Build: func(b *LayerBuilder, l LayerSpec, in []int) (Module, error) {
				if len(in) != 3 || in[0] != 3 {
					return nil, fmt.Errorf("%s takes RGB images [3, H, W], got %v", a.name, in)
				}
				classes := l.Int("classes")
				if err := b.CheckWeight(classes, 2048); err != nil {
					return nil, err
				}
				m := a.build(classes, b.rng)
				if _, err := m.(ShapeInferrer).OutputShape(in); err != nil {
					return nil, fmt.Errorf("%s: %v", a.name, err)
				}
				return m, nil
			},
		})
	}
}
