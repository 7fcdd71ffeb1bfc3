// Package onnx writes backprop models as ONNX files that ONNX Runtime,
// TensorRT, OpenVINO and the other ONNX runtimes read, as PyTorch's
// torch.onnx.export does.
//
// An exported model uses the standard operators of opset 17 (IR version 8,
// ONNX 1.12) and nothing else. It has one input, "input", of shape
// [N, inputShape...] with N a dynamic dimension named "N", and one output,
// "output", of shape [N, ...]. Every value is float32, except the input of a
// model whose first layer is an Embedding, which is int64 (token indices,
// as in PyTorch's exports).
//
// The model is written in its evaluation form whatever its mode: Dropout
// is left out and BatchNorm normalises with its running statistics.
// [Normalize] adds the input normalisation as nodes in front of the
// network, so that the exported model takes raw values (pixels scaled to
// [0, 1], or a table's raw features); [Denormalize] maps a regression
// output back to the target's units; [Metadata] stores class names and
// anything else in the model's metadata_props.
//
// The file is built from the Go types of the ONNX schema (package
// [github.com/backprop-go/backprop/onnx/onnxpb], compiled from ONNX's
// onnx.proto) and marshalled by google.golang.org/protobuf.
package onnx

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	pb "github.com/backprop-go/backprop/onnx/onnxpb"
	"github.com/backprop-go/backprop/tensor"
	"google.golang.org/protobuf/proto"
)

// The constants of every exported model.
const (
	// Opset is the version of the default ONNX operator set the models use.
	Opset = 17
	// IRVersion is the ONNX IR version of the files: that of ONNX 1.12,
	// the release that introduced opset 17.
	IRVersion = 8
	// InputName and OutputName are the names of the graph's input and output.
	InputName  = "input"
	OutputName = "output"
	// BatchDim is the name of the dynamic batch dimension (the first) of
	// the input and the output.
	BatchDim = "N"
	// Producer is the model's producer_name.
	Producer = "backprop"
	// MetaArchitecture is the metadata key of the architecture spec, which
	// Export adds when the model has a spec form (see nn.SpecOf) and the
	// caller's Metadata does not set the key.
	MetaArchitecture = "architecture"
)

// maxProtoBytes is the largest message protobuf can encode (2 GiB); larger
// models would need ONNX's external data files, which Export does not write.
const maxProtoBytes = math.MaxInt32

// Option configures Export.
type Option struct{ apply func(*config) }

type config struct {
	norm, denorm    bool // Normalize, Denormalize given
	mean, std       []float32
	outMean, outStd []float32
	meta            map[string]string
}

// Normalize adds nodes in front of the network that map each value v of
// input channel c to (v - mean[c]) / std[c] (as Sub and Mul by the float32
// reciprocal, the arithmetic of data.Normalization.Apply in training); a channel is the first dimension of a sample (the
// colour channel of a [C, H, W] image, each feature of a [F] row). With it
// the exported model takes the raw input: pixels scaled to [0, 1] for an
// image model, unstandardised features for a table. mean and std must have
// one value per channel, and std values must be positive.
func Normalize(mean, std []float32) Option {
	mean, std = slices.Clone(mean), slices.Clone(std)
	return Option{func(c *config) { c.mean, c.std, c.norm = mean, std, true }}
}

// Denormalize adds nodes after the network that map each output value y
// of feature j (the last dimension) to y·std[j] + mean[j]: the inverse of a
// regression target's standardisation, so that the exported model answers
// in the target's units. mean and std have one value per output feature,
// or one value for all.
func Denormalize(mean, std []float32) Option {
	mean, std = slices.Clone(mean), slices.Clone(std)
	return Option{func(c *config) { c.outMean, c.outStd, c.denorm = mean, std, true }}
}

// Metadata stores the key-value pairs in the model's metadata_props, for
// example "classes" with the class names as a JSON list. Several Metadata
// options merge; a later one wins for a key given twice.
func Metadata(m map[string]string) Option {
	m = maps.Clone(m)
	return Option{func(c *config) {
		if c.meta == nil {
			c.meta = map[string]string{}
		}
		maps.Copy(c.meta, m)
	}}
}

// Export writes model as an ONNX ModelProto to w. inputShape is one
// sample's shape, without the batch dimension ([C, H, W] for images, [F]
// for a table's rows, [L] for a sequence of token indices); nil means the
// shape a Sequential was built for (its InputShape). Every layer
// must be one of those backprop defines (see Convert); an unsupported
// layer makes Export fail, naming the layer's index and type. Export does
// not change the model, and writes nothing when it fails.
func Export(w io.Writer, model nn.Module, inputShape []int, opts ...Option) error {
	m, err := Convert(model, inputShape, opts...)
	if err != nil {
		return err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// Convert returns model as an ONNX ModelProto, what Export writes. It
// supports nn.SequentialModule (nested too) of these layers, each written
// as standard ONNX operators:
//
//	Linear              Gemm (transB=1); MatMul and Add on inputs of rank > 2
//	Conv2d              Conv (pads, strides, dilations, group)
//	BatchNorm1d/2d      BatchNormalization with the running statistics
//	LayerNorm           LayerNormalization
//	MaxPool2d           MaxPool (ceil mode as end padding)
//	AvgPool2d           AveragePool (Pad first when padding counts and ceil mode adds a window)
//	GlobalAvgPool2d     GlobalAveragePool and Flatten
//	Flatten             Flatten
//	Dropout             nothing (the evaluation form)
//	ReLU, LeakyReLU, Tanh, Sigmoid, ELU   Relu, LeakyRelu, Tanh, Sigmoid, Elu
//	GELU                0.5·x·(1+Erf(x/√2)), or the tanh form for GELU(tanh=1)
//	SiLU                x·Sigmoid(x)
//	Softplus            Softplus of beta·x over beta, and x where beta·x > threshold
//	Softmax, LogSoftmax Softmax, LogSoftmax (axis = Dim)
//	Embedding           Gather (Cast to int64 first when not the first layer)
//	ReLU6, Hardtanh     Clip
//	Hardsigmoid, Hardswish  HardSigmoid (alpha 1/6, beta 1/2), HardSwish
//	Mish                x·Tanh(Softplus(x)) (opset 17 has no Mish)
//	GroupNorm           Reshape to [N, G, -1], InstanceNormalization, Reshape back, per-channel Mul and Add
//	RMSNorm             x·Pow(ReduceMean(x·x) + eps, -½), times the weight
//	AdaptiveAvgPool2d   GlobalAveragePool for 1×1; AveragePool when the input divides evenly; refused otherwise
//	ConvTranspose2d     ConvTranspose (pads, output_padding, strides, dilations, group)
//	Upsample            Resize: nearest as asymmetric/floor, nearest-exact as half_pixel/round_prefer_ceil,
//	                    bilinear as linear with pytorch_half_pixel or align_corners; a scale factor as
//	                    scales, a size as sizes with the batch dimension read by Shape
//	Residual            the body and Add
//	ResNet, ResNetBlock the stem, BasicBlock or Bottleneck (with the downsample shortcut), Add and Relu, pool, fc
//	MobileNetV2, InvertedResidual  the features, GlobalAveragePool, Flatten, the classifier
//	LSTM, GRU, RNN      one ONNX LSTM, GRU or RNN per layer between Transposes to time-major, gates
//	                    reordered (LSTM i f g o to i o f c, GRU r z n to z r h), GRU linear_before_reset=1,
//	                    bidirectional outputs joined as [T, N, 2H]; batch-first layers only
//	MultiheadAttention  MatMul per q, k, v, Reshape/Transpose to heads, MatMul, scale, Softmax, MatMul,
//	                    out_proj; a causal layer adds a constant -inf mask above the diagonal before Softmax
//	TransformerEncoderLayer  the attention, Add, LayerNormalization and the feed-forward (post- or pre-norm)
//
// A model with MultiheadAttention or TransformerEncoderLayer takes
// [N, T, E] with N dynamic but T fixed at the length of inputShape: the
// reshapes into heads and the causal mask name it, so the exported model
// runs only on sequences of that length (export once per length served, or
// pad). The recurrent layers take any batch and the exported length only
// too, as every input's shape is fixed but N.
func Convert(model nn.Module, inputShape []int, opts ...Option) (*pb.ModelProto, error) {
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	if model == nil {
		return nil, errors.New("onnx: nil model")
	}
	if s, ok := model.(*nn.SequentialModule); ok && inputShape == nil {
		inputShape = s.InputShape
	}
	if len(inputShape) == 0 {
		return nil, errors.New("onnx: empty input shape: give one sample's shape, such as [1, 28, 28]")
	}
	for _, d := range inputShape {
		if d < 1 {
			return nil, fmt.Errorf("onnx: input shape %v has a dimension below 1", inputShape)
		}
	}
	g := &graph{inits: map[string]bool{}}
	inType := pb.TensorProto_FLOAT
	if isEmbedding(firstLayer(model)) {
		inType = pb.TensorProto_INT64
	}
	x := value{name: InputName, shape: slices.Clone(inputShape), dtype: inType}
	if c.norm {
		var err error
		if x, err = g.normalize(x, c.mean, c.std); err != nil {
			return nil, err
		}
	}
	x, err := g.module("", model, x)
	if err != nil {
		return nil, err
	}
	if c.denorm {
		if x, err = g.denormalize(x, c.outMean, c.outStd); err != nil {
			return nil, err
		}
	}
	g.finish(x)
	if g.bytes > maxProtoBytes {
		return nil, fmt.Errorf("onnx: the model's weights take %d bytes, more than the 2 GiB a protocol buffer holds", g.bytes)
	}

	meta := maps.Clone(c.meta)
	if _, ok := meta[MetaArchitecture]; !ok {
		if spec, err := nn.SpecOf(model); err == nil {
			if meta == nil {
				meta = map[string]string{}
			}
			meta[MetaArchitecture] = spec
		}
	}
	var props []*pb.StringStringEntryProto
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		props = append(props, &pb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(meta[k])})
	}
	return &pb.ModelProto{
		IrVersion:     proto.Int64(IRVersion),
		OpsetImport:   []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		ProducerName:  proto.String(Producer),
		MetadataProps: props,
		Graph: &pb.GraphProto{
			Name:        proto.String("backprop"),
			Node:        g.nodes,
			Initializer: g.tensors,
			Input:       []*pb.ValueInfoProto{valueInfo(InputName, inType, inputShape)},
			Output:      []*pb.ValueInfoProto{valueInfo(OutputName, pb.TensorProto_FLOAT, x.shape)},
		},
	}, nil
}

// firstLayer is the layer that reads the model's input.
func firstLayer(m nn.Module) nn.Module {
	for {
		s, ok := m.(*nn.SequentialModule)
		if !ok || len(s.Layers) == 0 {
			return m
		}
		m = s.Layers[0]
	}
}

func isEmbedding(m nn.Module) bool { _, ok := m.(*nn.EmbeddingModule); return ok }

// value is a tensor of the graph being built: its name, one sample's
// shape (without the batch dimension) and its element type.
type value struct {
	name  string
	shape []int
	dtype pb.TensorProto_DataType
}

// graph collects the nodes and initializers of a model.
type graph struct {
	nodes   []*pb.NodeProto
	tensors []*pb.TensorProto
	inits   map[string]bool
	seq     int
	bytes   int
}

// node adds a node of op reading inputs and returns its output's name,
// which is unique: the layer's path, the op and a counter.
func (g *graph) node(path, op string, inputs []string, attrs ...*pb.AttributeProto) string {
	g.seq++
	name := fmt.Sprintf("%s/%s_%d", layerName(path), op, g.seq)
	g.nodes = append(g.nodes, &pb.NodeProto{Name: proto.String(name), OpType: proto.String(op),
		Input: inputs, Output: []string{name}, Attribute: attrs})
	return name
}

func layerName(path string) string {
	if path == "" {
		return "model"
	}
	return path
}

// floats adds a float32 initializer named path.name (the state_dict name
// for a layer's weights) and returns its name.
func (g *graph) floats(path, name string, shape []int, data []float32) string {
	full := name
	if path != "" {
		full = path + "." + name
	}
	for g.inits[full] {
		full += "_"
	}
	g.inits[full] = true
	g.bytes += 4 * len(data)
	g.tensors = append(g.tensors, &pb.TensorProto{Name: proto.String(full), Dims: dims(shape),
		DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: slices.Clone(data)})
	return full
}

// scalar adds a float32 scalar constant.
func (g *graph) scalar(path, name string, v float32) string {
	return g.floats(path, name, nil, []float32{v})
}

func dims(shape []int) []int64 {
	out := make([]int64, len(shape))
	for i, d := range shape {
		out[i] = int64(d)
	}
	return out
}

func filled(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func attrInt(name string, v int) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(int64(v))}
}

func attrInts(name string, v ...int) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: dims(v)}
}

func attrFloat(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func valueInfo(name string, t pb.TensorProto_DataType, sample []int) *pb.ValueInfoProto {
	d := []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: BatchDim}}}
	for _, s := range sample {
		d = append(d, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(s)}})
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(t)), Shape: &pb.TensorShapeProto{Dim: d}}}}}
}

// finish names the last value "output": the last node's output is
// renamed, or an Identity added when no node made it (a model of Dropout
// layers only).
func (g *graph) finish(x value) {
	if n := len(g.nodes); n > 0 && g.nodes[n-1].Output[0] == x.name {
		g.nodes[n-1].Output[0] = OutputName
		return
	}
	g.nodes = append(g.nodes, &pb.NodeProto{Name: proto.String("output/Identity"), OpType: proto.String("Identity"),
		Input: []string{x.name}, Output: []string{OutputName}})
}

// channelShape is the shape of per-channel constants that broadcast over
// a [N, C, ...] value: [C, 1, 1, ...].
func channelShape(sample []int) []int {
	s := make([]int, len(sample))
	for i := range s {
		s[i] = 1
	}
	s[0] = sample[0]
	return s
}

func (g *graph) normalize(x value, mean, std []float32) (value, error) {
	if x.dtype != pb.TensorProto_FLOAT {
		return x, errors.New("onnx: Normalize on a model whose input is token indices (its first layer is an Embedding)")
	}
	c := x.shape[0]
	if len(mean) != c || len(std) != c {
		return x, fmt.Errorf("onnx: Normalize with %d means and %d standard deviations for %d input channels (input shape %v)", len(mean), len(std), c, x.shape)
	}
	inv := make([]float32, c)
	for i, s := range std {
		if !(s > 0) || math.IsInf(float64(s), 0) || math.IsNaN(float64(mean[i])) || math.IsInf(float64(mean[i]), 0) {
			return x, fmt.Errorf("onnx: Normalize channel %d: mean %g, std %g; want a finite mean and a positive, finite std", i, mean[i], s)
		}
		// Multiplying by the float32 reciprocal is what
		// data.Normalization.Apply does: the same numbers as training.
		inv[i] = 1 / s
	}
	shape := channelShape(x.shape)
	m := g.floats("normalize", "mean", shape, mean)
	r := g.floats("normalize", "inv_std", shape, inv)
	x.name = g.node("normalize", "Mul", []string{g.node("normalize", "Sub", []string{x.name, m}), r})
	return x, nil
}

func (g *graph) denormalize(x value, mean, std []float32) (value, error) {
	f := x.shape[len(x.shape)-1]
	if len(mean) != len(std) || (len(mean) != 1 && len(mean) != f) {
		return x, fmt.Errorf("onnx: Denormalize with %d means and %d standard deviations for an output of %d features (shape %v)", len(mean), len(std), f, x.shape)
	}
	for i, s := range std {
		if math.IsInf(float64(s), 0) || math.IsNaN(float64(s)) || math.IsInf(float64(mean[i]), 0) || math.IsNaN(float64(mean[i])) {
			return x, fmt.Errorf("onnx: Denormalize feature %d: mean %g, std %g; want finite values", i, mean[i], s)
		}
	}
	shape := []int{len(mean)}
	s := g.floats("denormalize", "std", shape, std)
	m := g.floats("denormalize", "mean", shape, mean)
	x.name = g.node("denormalize", "Add", []string{g.node("denormalize", "Mul", []string{x.name, s}), m})
	return x, nil
}

// unsupported is the error for a layer Convert has no ONNX form for.
func unsupported(path string, m nn.Module, why string) error {
	desc := fmt.Sprintf("%T", m)
	if sp, ok := m.(nn.Specer); ok && sp.Spec() != "" {
		desc += " " + strconv.Quote(sp.Spec())
	} else if st, ok := m.(fmt.Stringer); ok {
		desc += " " + strconv.Quote(strings.Join(strings.Fields(st.String()), " "))
	}
	where := "layer " + path
	if path == "" {
		where = "the model"
	}
	return fmt.Errorf("onnx: %s (%s): %s", where, desc, why)
}

const noForm = "no ONNX form (supported: Sequential, Residual, ResNet and MobileNetV2 with their blocks, Linear, Conv2d, ConvTranspose2d, BatchNorm, LayerNorm, GroupNorm, RMSNorm, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, GlobalAvgPool2d, Upsample, Flatten, Dropout, Embedding and the activations, LSTM, GRU, RNN, MultiheadAttention and TransformerEncoderLayer)"

// module adds the nodes of m, at path in the model, applied to x.
func (g *graph) module(path string, m nn.Module, x value) (value, error) {
	if s, ok := m.(*nn.SequentialModule); ok {
		for i, l := range s.Layers {
			p := strconv.Itoa(i)
			if path != "" {
				p = path + "." + p
			}
			var err error
			if x, err = g.module(p, l, x); err != nil {
				return x, err
			}
		}
		return x, nil
	}
	if r, ok := m.(*nn.ResidualModule); ok {
		// y = body(x) + x, or body(x) + shortcut(x); the body's layers are
		// named by position under PATH and the shortcut's under
		// PATH.shortcut, as in the state dict.
		y, err := g.module(path, r.Body, x)
		if err != nil {
			return x, err
		}
		short := x
		if r.Shortcut != nil {
			if short, err = g.module(sub(path, "shortcut"), r.Shortcut, x); err != nil {
				return x, err
			}
		}
		if !slices.Equal(y.shape, short.shape) {
			return x, unsupported(path, m, fmt.Sprintf("its body gives [N %v], its shortcut [N %v]; a residual adds the two, so they need the same shape", y.shape, short.shape))
		}
		return value{name: g.node(path, "Add", []string{y.name, short.name}), shape: y.shape, dtype: y.dtype}, nil
	}
	if y, ok, err := g.composite(path, m, x); ok || err != nil {
		return y, err
	}
	si, ok := m.(nn.ShapeInferrer)
	if !ok || m == nil {
		return x, unsupported(path, m, noForm)
	}
	out, err := si.OutputShape(x.shape)
	if err != nil {
		return x, unsupported(path, m, fmt.Sprintf("cannot take its input [N %v]: %v", x.shape, err))
	}
	if x.dtype == pb.TensorProto_INT64 && !isEmbedding(m) {
		return x, unsupported(path, m, "takes the token indices an Embedding needs; only an Embedding can be the first layer of such a model")
	}
	y, err := g.layer(path, m, x, out)
	if err != nil {
		return x, err
	}
	return value{name: y, shape: out, dtype: pb.TensorProto_FLOAT}, nil
}

// layer adds the nodes of one layer and returns the name of its output.
func (g *graph) layer(path string, m nn.Module, x value, out []int) (string, error) {
	in := x.name
	node := func(op string, inputs []string, attrs ...*pb.AttributeProto) string {
		return g.node(path, op, inputs, attrs...)
	}
	switch l := m.(type) {
	case *nn.LinearModule:
		w := l.Weight.Data
		if len(x.shape) == 1 {
			inputs := []string{in, g.floats(path, "weight", w.Shape(), w.Data())}
			if l.Bias != nil {
				inputs = append(inputs, g.floats(path, "bias", l.Bias.Data.Shape(), l.Bias.Data.Data()))
			}
			return node("Gemm", inputs, attrInt("transB", 1)), nil
		}
		// Gemm is 2-D only; MatMul broadcasts over leading dimensions.
		wt := transpose(w.Data(), l.Out, l.In)
		y := node("MatMul", []string{in, g.floats(path, "weight_t", []int{l.In, l.Out}, wt)})
		if l.Bias != nil {
			y = node("Add", []string{y, g.floats(path, "bias", l.Bias.Data.Shape(), l.Bias.Data.Data())})
		}
		return y, nil

	case *nn.Conv2dModule:
		w := l.Weight.Data
		p := l.Params
		inputs := []string{in, g.floats(path, "weight", w.Shape(), w.Data())}
		if l.Bias != nil {
			inputs = append(inputs, g.floats(path, "bias", l.Bias.Data.Shape(), l.Bias.Data.Data()))
		}
		ws := w.Shape()
		return node("Conv", inputs,
			attrInts("kernel_shape", ws[2], ws[3]),
			attrInts("pads", p.Padding[0], p.Padding[1], p.Padding[0], p.Padding[1]),
			attrInts("strides", max(p.Stride[0], 1), max(p.Stride[1], 1)),
			attrInts("dilations", max(p.Dilation[0], 1), max(p.Dilation[1], 1)),
			attrInt("group", max(p.Groups, 1))), nil

	case *nn.BatchNormModule:
		if l.RunningMean == nil || l.RunningVar == nil {
			return "", unsupported(path, m, "without running statistics it normalises with each batch's statistics even in evaluation, which has no ONNX inference form")
		}
		c := l.NumFeatures
		scale, bias := filled(c, 1), make([]float32, c)
		if l.Weight != nil {
			scale = l.Weight.Data.Data()
		}
		if l.Bias != nil {
			bias = l.Bias.Data.Data()
		}
		return node("BatchNormalization", []string{in,
			g.floats(path, "weight", []int{c}, scale), g.floats(path, "bias", []int{c}, bias),
			g.floats(path, "running_mean", []int{c}, l.RunningMean.Data()),
			g.floats(path, "running_var", []int{c}, l.RunningVar.Data())},
			attrFloat("epsilon", l.Eps)), nil

	case *nn.LayerNormModule:
		n := 1
		for _, d := range l.Shape {
			n *= d
		}
		scale := filled(n, 1)
		if l.Weight != nil {
			scale = l.Weight.Data.Data()
		}
		inputs := []string{in, g.floats(path, "weight", l.Shape, scale)}
		if l.Bias != nil {
			inputs = append(inputs, g.floats(path, "bias", l.Shape, l.Bias.Data.Data()))
		}
		return node("LayerNormalization", inputs, attrInt("axis", -len(l.Shape)), attrFloat("epsilon", l.Eps)), nil

	case *nn.MaxPool2dModule:
		return g.pool(path, m, "MaxPool", l.Params, x, out)
	case *nn.AvgPool2dModule:
		return g.pool(path, m, "AveragePool", l.Params, x, out)

	case *nn.GlobalAvgPool2dModule:
		return node("Flatten", []string{node("GlobalAveragePool", []string{in})}, attrInt("axis", 1)), nil
	case *nn.FlattenModule:
		return node("Flatten", []string{in}, attrInt("axis", 1)), nil
	case *nn.DropoutModule:
		return in, nil

	case *nn.ReLUModule:
		return node("Relu", []string{in}), nil
	case *nn.LeakyReLUModule:
		return node("LeakyRelu", []string{in}, attrFloat("alpha", l.Slope)), nil
	case *nn.TanhModule:
		return node("Tanh", []string{in}), nil
	case *nn.SigmoidModule:
		return node("Sigmoid", []string{in}), nil
	case *nn.ELUModule:
		return node("Elu", []string{in}, attrFloat("alpha", l.Alpha)), nil
	case *nn.SiLUModule:
		return node("Mul", []string{in, node("Sigmoid", []string{in})}), nil
	case *nn.GELUModule:
		// Opset 17 has no Gelu (it came in opset 20): compose it.
		half, one := g.scalar(path, "half", 0.5), g.scalar(path, "one", 1)
		var inner string
		if l.Approximate {
			// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
			x3 := node("Mul", []string{in, node("Mul", []string{in, in})})
			poly := node("Add", []string{in, node("Mul", []string{x3, g.scalar(path, "gelu_c", 0.044715)})})
			inner = node("Tanh", []string{node("Mul", []string{poly, g.scalar(path, "sqrt_2_over_pi", float32(math.Sqrt(2/math.Pi)))})})
		} else {
			// 0.5·x·(1 + erf(x/√2))
			inner = node("Erf", []string{node("Div", []string{in, g.scalar(path, "sqrt2", math.Sqrt2)})})
		}
		return node("Mul", []string{node("Mul", []string{in, half}), node("Add", []string{inner, one})}), nil
	case *nn.SoftplusModule:
		// log(1+e^(beta·x))/beta, and x itself where beta·x > threshold.
		bx, sp := in, ""
		if l.Beta != 1 {
			beta := g.scalar(path, "beta", l.Beta)
			bx = node("Mul", []string{in, beta})
			sp = node("Div", []string{node("Softplus", []string{bx}), beta})
		} else {
			sp = node("Softplus", []string{bx})
		}
		above := node("Greater", []string{bx, g.scalar(path, "threshold", l.Threshold)})
		return node("Where", []string{above, in, sp}), nil
	case *nn.SoftmaxModule:
		return node("Softmax", []string{in}, attrInt("axis", l.Dim)), nil
	case *nn.LogSoftmaxModule:
		return node("LogSoftmax", []string{in}, attrInt("axis", l.Dim)), nil

	case *nn.ReLU6Module:
		return node("Clip", []string{in, g.scalar(path, "min", 0), g.scalar(path, "max", 6)}), nil
	case *nn.HardtanhModule:
		return node("Clip", []string{in, g.scalar(path, "min", l.Min), g.scalar(path, "max", l.Max)}), nil
	case *nn.HardsigmoidModule:
		// relu6(x+3)/6 = max(0, min(1, x/6 + 1/2)).
		return node("HardSigmoid", []string{in}, attrFloat("alpha", 1.0/6), attrFloat("beta", 0.5)), nil
	case *nn.HardswishModule:
		return node("HardSwish", []string{in}), nil
	case *nn.MishModule:
		// Opset 17 has no Mish (it came in opset 18): x·tanh(softplus(x)).
		return node("Mul", []string{in, node("Tanh", []string{node("Softplus", []string{in})})}), nil
	case *nn.GroupNormModule:
		return g.groupNorm(path, l, x), nil
	case *nn.RMSNormModule:
		// x·(mean(x²) + eps)^-½ over the last len(Shape) dimensions, then
		// the weight: the arithmetic of autograd.RMSNorm.
		k := len(l.Shape)
		axes := make([]int, k)
		for i := range axes {
			axes[i] = len(x.shape) + 1 - k + i
		}
		ms := node("ReduceMean", []string{node("Mul", []string{in, in})}, attrInts("axes", axes...), attrInt("keepdims", 1))
		r := node("Pow", []string{node("Add", []string{ms, g.scalar(path, "eps", l.Eps)}), g.scalar(path, "minus_half", -0.5)})
		y := node("Mul", []string{in, r})
		if l.Weight != nil {
			y = node("Mul", []string{y, g.floats(path, "weight", l.Shape, l.Weight.Data.Data())})
		}
		return y, nil
	case *nn.AdaptiveAvgPool2dModule:
		if l.H == 1 && l.W == 1 {
			return node("GlobalAveragePool", []string{in}), nil
		}
		h, w := x.shape[1], x.shape[2]
		if h%l.H != 0 || w%l.W != 0 {
			return "", unsupported(path, m, fmt.Sprintf("an input of %dx%d does not divide into %dx%d windows; ONNX has no adaptive pooling (export at an input size that divides evenly)", h, w, l.H, l.W))
		}
		kh, kw := h/l.H, w/l.W
		return node("AveragePool", []string{in}, attrInts("kernel_shape", kh, kw), attrInts("strides", kh, kw)), nil
	case *nn.ConvTranspose2dModule:
		w := l.Weight.Data
		p := l.Params
		inputs := []string{in, g.floats(path, "weight", w.Shape(), w.Data())}
		if l.Bias != nil {
			inputs = append(inputs, g.floats(path, "bias", l.Bias.Data.Shape(), l.Bias.Data.Data()))
		}
		return node("ConvTranspose", inputs,
			attrInts("kernel_shape", l.Kernel, l.Kernel),
			attrInts("pads", p.Padding[0], p.Padding[1], p.Padding[0], p.Padding[1]),
			attrInts("output_padding", p.OutputPadding[0], p.OutputPadding[1]),
			attrInts("strides", max(p.Stride[0], 1), max(p.Stride[1], 1)),
			attrInts("dilations", max(p.Dilation[0], 1), max(p.Dilation[1], 1)),
			attrInt("group", max(p.Groups, 1))), nil
	case *nn.UpsampleModule:
		return g.resize(path, l, x, out)
	case *nn.RNNModule:
		return g.rnn(path, l, x)
	case *nn.MultiheadAttentionModule:
		y, err := g.mha(path, l, x)
		return y.name, err
	case *nn.TransformerEncoderLayerModule:
		y, err := g.transformer(path, l, x)
		return y.name, err

	case *nn.EmbeddingModule:
		idx := in
		if x.dtype != pb.TensorProto_INT64 {
			idx = node("Cast", []string{in}, attrInt("to", int(pb.TensorProto_INT64)))
		}
		w := l.Weight.Data
		return node("Gather", []string{g.floats(path, "weight", w.Shape(), w.Data()), idx}, attrInt("axis", 0)), nil
	}
	return "", unsupported(path, m, noForm)
}

// pool adds a MaxPool or AveragePool with PyTorch's semantics. ONNX's
// ceil_mode differs between runtimes and opsets, so ceil mode is written as
// extra padding at the end that makes floor mode give PyTorch's output
// size; the extra cells are left out of every max and average, as PyTorch
// leaves out the cells beyond the padded input. PyTorch's average counts
// the (symmetric) padding when CountIncludePad is set but never the extra
// cells, which one AveragePool cannot say: then the padding is an explicit
// Pad of zeros, and the AveragePool counts only what is inside it.
func (g *graph) pool(path string, m nn.Module, op string, p ag.PoolParams, x value, out []int) (string, error) {
	if len(x.shape) != 3 {
		return "", unsupported(path, m, fmt.Sprintf("ONNX pooling needs [N, C, H, W] input, got [N %v]", x.shape))
	}
	if p.DivisorOverride > 0 {
		return "", unsupported(path, m, "a divisor override has no ONNX form")
	}
	var k, s, pad, dil, extra [2]int
	for i := range 2 {
		k[i], pad[i] = p.Kernel[i], p.Padding[i]
		s[i] = p.Stride[i]
		if s[i] == 0 {
			s[i] = k[i]
		}
		dil[i] = max(p.Dilation[i], 1)
		in := x.shape[1+i]
		need := (out[1+i]-1)*s[i] + dil[i]*(k[i]-1) + 1
		extra[i] = max(0, need-(in+2*pad[i]))
	}
	in := x.name
	attrs := []*pb.AttributeProto{attrInts("kernel_shape", k[0], k[1]), attrInts("strides", s[0], s[1])}
	if op == "MaxPool" {
		attrs = append(attrs, attrInts("dilations", dil[0], dil[1]))
	} else if dil != [2]int{1, 1} {
		return "", unsupported(path, m, "average pooling with dilation has no ONNX form")
	}
	begin, end := pad, [2]int{pad[0] + extra[0], pad[1] + extra[1]}
	if op == "AveragePool" && p.CountIncludePad && pad != [2]int{} {
		if extra == [2]int{} {
			attrs = append(attrs, attrInt("count_include_pad", 1))
		} else {
			pads := g.int64s(path, "pads", []int64{0, 0, int64(pad[0]), int64(pad[1]), 0, 0, int64(pad[0]), int64(pad[1])})
			in = g.node(path, "Pad", []string{in, pads})
			begin, end = [2]int{}, extra
		}
	}
	attrs = append(attrs, attrInts("pads", begin[0], begin[1], end[0], end[1]))
	return g.node(path, op, []string{in}, attrs...), nil
}

// int64s adds an int64 vector constant.
func (g *graph) int64s(path, name string, v []int64) string {
	full := path + "." + name
	for g.inits[full] {
		full += "_"
	}
	g.inits[full] = true
	g.bytes += 8 * len(v)
	g.tensors = append(g.tensors, &pb.TensorProto{Name: proto.String(full), Dims: []int64{int64(len(v))},
		DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: slices.Clone(v)})
	return full
}

// transpose returns the [cols, rows] transpose of a row-major [rows, cols]
// matrix.
func transpose(a []float32, rows, cols int) []float32 {
	t := make([]float32, len(a))
	for r := range rows {
		for c := range cols {
			t[c*rows+r] = a[r*cols+c]
		}
	}
	return t
}

// sub is the path of a child named name of the layer at path.
func sub(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// composite adds the nodes of the zoo's models and blocks, whose children
// are written under their state_dict names; ok is false for other layers.
func (g *graph) composite(path string, m nn.Module, x value) (y value, ok bool, err error) {
	type part struct {
		Name   string
		Module nn.Module
	}
	chain := func(x value, parts ...part) (value, error) {
		for _, p := range parts {
			var err error
			if x, err = g.module(sub(path, p.Name), p.Module, x); err != nil {
				return x, err
			}
		}
		return x, nil
	}
	relu := func(v value) value {
		v.name = g.node(path, "Relu", []string{v.name})
		return v
	}
	named := func(name string, m nn.Module) part { return part{name, m} }
	switch b := m.(type) {
	case *nn.ResNetBlock:
		// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut), the Bottleneck
		// with a third convolution.
		y, err := chain(x, named("conv1", b.Conv1), named("bn1", b.BN1))
		if err == nil {
			y, err = chain(relu(y), named("conv2", b.Conv2), named("bn2", b.BN2))
		}
		if err == nil && b.Conv3 != nil {
			y, err = chain(relu(y), named("conv3", b.Conv3), named("bn3", b.BN3))
		}
		short := x
		if err == nil && b.Downsample != nil {
			short, err = g.module(sub(path, "downsample"), b.Downsample, x)
		}
		if err != nil {
			return x, true, err
		}
		if !slices.Equal(y.shape, short.shape) {
			return x, true, unsupported(path, m, fmt.Sprintf("the residual branch gives [N %v], the shortcut [N %v]", y.shape, short.shape))
		}
		y.name = g.node(path, "Add", []string{y.name, short.name})
		return relu(y), true, nil
	case *nn.ResNetModule:
		y, err := chain(x, named("conv1", b.Conv1), named("bn1", b.BN1), named("relu", b.ReLU), named("maxpool", b.MaxPool))
		for i, l := range b.Layers {
			if err == nil {
				y, err = g.module(sub(path, fmt.Sprintf("layer%d", i+1)), l, y)
			}
		}
		if err == nil {
			y, err = chain(y, named("avgpool", b.AvgPool), named("flatten", nn.Flatten()), named("fc", b.FC))
		}
		return y, true, err
	case *nn.InvertedResidual:
		y, err := g.module(sub(path, "conv"), b.Conv, x)
		if err != nil || !b.UseResidual {
			return y, true, err
		}
		if !slices.Equal(y.shape, x.shape) {
			return x, true, unsupported(path, m, fmt.Sprintf("its body turns [N %v] into [N %v]; a residual needs the same shape", x.shape, y.shape))
		}
		y.name = g.node(path, "Add", []string{x.name, y.name})
		return y, true, nil
	case *nn.MobileNetV2Module:
		y, err := g.module(sub(path, "features"), b.Features, x)
		if err == nil {
			y, err = chain(y, named("pool", nn.AdaptiveAvgPool2d(1, 1)), named("flatten", nn.Flatten()), named("classifier", b.Classifier))
		}
		return y, true, err
	}
	return x, false, nil
}

// groupNorm writes GroupNorm as InstanceNormalization (opset 17 has no
// GroupNormalization) of x seen as [N, G, C/G·rest], the channel affine
// after it.
func (g *graph) groupNorm(path string, l *nn.GroupNormModule, x value) string {
	G := l.NumGroups
	grouped := g.node(path, "Reshape", []string{x.name, g.int64s(path, "grouped_shape", []int64{0, int64(G), -1})})
	normed := g.node(path, "InstanceNormalization", []string{grouped,
		g.floats(path, "group_scale", []int{G}, filled(G, 1)), g.floats(path, "group_bias", []int{G}, make([]float32, G))},
		attrFloat("epsilon", l.Eps))
	back := make([]int64, len(x.shape)+1)
	for i, d := range x.shape {
		back[i+1] = int64(d)
	}
	y := g.node(path, "Reshape", []string{normed, g.int64s(path, "shape", back)})
	cs := channelShape(x.shape)
	if l.Weight != nil {
		y = g.node(path, "Mul", []string{y, g.floats(path, "weight", cs, l.Weight.Data.Data())})
	}
	if l.Bias != nil {
		y = g.node(path, "Add", []string{y, g.floats(path, "bias", cs, l.Bias.Data.Data())})
	}
	return y
}

// resize writes Upsample as Resize with the coordinate transformation of
// PyTorch's mode: nearest is asymmetric with floor, nearest-exact
// half_pixel with round_prefer_ceil (floor((i+½)/scale)), bilinear
// pytorch_half_pixel or align_corners. A scale factor goes in as Resize's
// scales (so that the coordinates map through 1/scale, as PyTorch's do); a
// size as its sizes, the batch dimension taken from the input's shape.
func (g *graph) resize(path string, l *nn.UpsampleModule, x value, out []int) (string, error) {
	p := l.Params
	attrs := []*pb.AttributeProto{}
	str := func(name, v string) *pb.AttributeProto {
		return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_STRING.Enum(), S: []byte(v)}
	}
	switch p.Mode {
	case tensor.Nearest:
		attrs = append(attrs, str("mode", "nearest"), str("coordinate_transformation_mode", "asymmetric"), str("nearest_mode", "floor"))
	case tensor.NearestExact:
		attrs = append(attrs, str("mode", "nearest"), str("coordinate_transformation_mode", "half_pixel"), str("nearest_mode", "round_prefer_ceil"))
	case tensor.Bilinear:
		ct := "pytorch_half_pixel"
		if p.AlignCorners {
			ct = "align_corners"
		} else if out[1] == 1 || out[2] == 1 {
			return "", unsupported(path, l, "bilinear resizing to a single row or column maps coordinates differently in ONNX")
		}
		attrs = append(attrs, str("mode", "linear"), str("coordinate_transformation_mode", ct))
	default:
		return "", unsupported(path, l, fmt.Sprintf("interpolation mode %v has no ONNX form", p.Mode))
	}
	if p.Size == [2]int{} {
		scales := g.floats(path, "scales", []int{4}, []float32{1, 1, float32(p.Scale[0]), float32(p.Scale[1])})
		return g.node(path, "Resize", []string{x.name, "", scales}, attrs...), nil
	}
	batch := g.node(path, "Shape", []string{x.name}, attrInt("start", 0), attrInt("end", 1))
	sizes := g.node(path, "Concat", []string{batch, g.int64s(path, "size", []int64{int64(out[0]), int64(out[1]), int64(out[2])})}, attrInt("axis", 0))
	return g.node(path, "Resize", []string{x.name, "", "", sizes}, attrs...), nil
}

// rnn writes an LSTM, GRU or RNN (batch first, as in a Sequential) as one
// ONNX LSTM, GRU or RNN operator per layer, on the time-major sequence
// (a Transpose before and after: ONNX Runtime does not run layout=1).
// The gates are reordered from PyTorch's (LSTM i f g o, GRU r z n) to
// ONNX's (i o f c, z r h); a GRU applies its hidden bias before the reset
// gate, linear_before_reset=1. Each layer's [T, dirs, N, H] output becomes
// the next layer's [T, N, dirs·H] input.
func (g *graph) rnn(path string, l *nn.RNNModule, x value) (string, error) {
	if l.TimeMajor {
		return "", unsupported(path, l, "a time-major layer in a Sequential has no batch dimension first; export a batch-first one")
	}
	var op string
	var order []int
	var attrs []*pb.AttributeProto
	dirs, h := 1, l.HiddenSize
	if l.Bidirectional {
		dirs = 2
		attrs = append(attrs, &pb.AttributeProto{Name: proto.String("direction"), Type: pb.AttributeProto_STRING.Enum(), S: []byte("bidirectional")})
	}
	switch l.Cell {
	case ag.CellLSTM:
		op, order = "LSTM", []int{0, 3, 1, 2}
	case ag.CellGRU:
		op, order = "GRU", []int{1, 0, 2}
		attrs = append(attrs, attrInt("linear_before_reset", 1))
	default:
		op, order = "RNN", []int{0}
		act := "Tanh"
		if l.Cell == ag.CellReLU {
			act = "Relu"
		}
		a := &pb.AttributeProto{Name: proto.String("activations"), Type: pb.AttributeProto_STRINGS.Enum()}
		for range dirs {
			a.Strings = append(a.Strings, []byte(act))
		}
		attrs = append(attrs, a)
	}
	attrs = append(attrs, attrInt("hidden_size", h))
	gates := len(order)
	// reorder stacks the gate blocks of a PyTorch [gates·H, ...] tensor
	// in ONNX's order.
	reorder := func(v []float32) []float32 {
		blk := len(v) / gates
		out := make([]float32, 0, len(v))
		for _, gi := range order {
			out = append(out, v[gi*blk:(gi+1)*blk]...)
		}
		return out
	}
	seq := g.node(path, "Transpose", []string{x.name}, attrInts("perm", 1, 0, 2))
	in := l.InputSize
	for layer := range l.NumLayers {
		var w, r, b []float32
		for d := range dirs {
			wk := l.Weights[layer*dirs+d]
			w = append(w, reorder(wk.IH.Data.Data())...)
			r = append(r, reorder(wk.HH.Data.Data())...)
			if wk.BiasIH != nil {
				b = append(b, reorder(wk.BiasIH.Data.Data())...)
				b = append(b, reorder(wk.BiasHH.Data.Data())...)
			}
		}
		suffix := fmt.Sprintf("_l%d", layer)
		inputs := []string{seq, g.floats(path, "W"+suffix, []int{dirs, gates * h, in}, w), g.floats(path, "R"+suffix, []int{dirs, gates * h, h}, r)}
		if b != nil {
			inputs = append(inputs, g.floats(path, "B"+suffix, []int{dirs, 2 * gates * h}, b))
		}
		y := g.node(path, op, inputs, attrs...) // [T, dirs, N, H]
		if dirs == 1 {
			seq = g.node(path, "Squeeze", []string{y, g.int64s(path, "axis"+suffix, []int64{1})})
		} else {
			t := g.node(path, "Transpose", []string{y}, attrInts("perm", 0, 2, 1, 3))
			seq = g.node(path, "Reshape", []string{t, g.int64s(path, "shape"+suffix, []int64{0, 0, int64(dirs * h)})})
		}
		in = dirs * h
	}
	return g.node(path, "Transpose", []string{seq}, attrInts("perm", 1, 0, 2)), nil
}

// mha writes self-attention over x [N, T, E] from MatMul, Softmax, Reshape
// and Transpose: q, k and v from the three row blocks of in_proj_weight,
// scores q·kᵀ/√hd (plus a constant causal mask of -inf above the
// diagonal), softmax, the weighted values, the heads joined and out_proj.
// T is fixed at the exported input's length (the reshapes and the mask
// name it); N stays dynamic.
func (g *graph) mha(path string, l *nn.MultiheadAttentionModule, x value) (value, error) {
	T, E, H := x.shape[0], l.EmbedDim, l.NumHeads
	hd := E / H
	w := l.InProjWeight.Data.Data()
	heads := g.int64s(path, "heads_shape", []int64{0, int64(T), int64(H), int64(hd)})
	proj := func(i int, perm ...int) string {
		name := []string{"q", "k", "v"}[i]
		wt := transpose(w[i*E*E:(i+1)*E*E], E, E)
		y := g.node(path, "MatMul", []string{x.name, g.floats(path, "in_proj_weight_"+name+"_t", []int{E, E}, wt)})
		if l.InProjBias != nil {
			y = g.node(path, "Add", []string{y, g.floats(path, "in_proj_bias_"+name, []int{E}, l.InProjBias.Data.Data()[i*E:(i+1)*E])})
		}
		return g.node(path, "Transpose", []string{g.node(path, "Reshape", []string{y, heads})}, attrInts("perm", perm...))
	}
	q, k, v := proj(0, 0, 2, 1, 3), proj(1, 0, 2, 3, 1), proj(2, 0, 2, 1, 3)
	scores := g.node(path, "Mul", []string{g.node(path, "MatMul", []string{q, k}), g.scalar(path, "scale", float32(1/math.Sqrt(float64(hd))))})
	if l.Causal {
		mask := make([]float32, T*T)
		for i := range T {
			for j := i + 1; j < T; j++ {
				mask[i*T+j] = float32(math.Inf(-1))
			}
		}
		scores = g.node(path, "Add", []string{scores, g.floats(path, "causal_mask", []int{T, T}, mask)})
	}
	att := g.node(path, "MatMul", []string{g.node(path, "Softmax", []string{scores}, attrInt("axis", -1)), v})
	joined := g.node(path, "Reshape", []string{g.node(path, "Transpose", []string{att}, attrInts("perm", 0, 2, 1, 3)),
		g.int64s(path, "joined_shape", []int64{0, int64(T), int64(E)})})
	return g.module(sub(path, "out_proj"), l.OutProj, value{name: joined, shape: []int{T, E}, dtype: pb.TensorProto_FLOAT})
}

// transformer writes a TransformerEncoderLayer (post-norm or pre-norm) from
// its parts, under their state_dict names; see mha for the fixed length.
func (g *graph) transformer(path string, t *nn.TransformerEncoderLayerModule, x value) (value, error) {
	add := func(a, b value) value {
		a.name = g.node(path, "Add", []string{a.name, b.name})
		return a
	}
	sa := func(h value) (value, error) { return g.mha(sub(path, "self_attn"), t.SelfAttn, h) }
	var act nn.Module = nn.ReLU()
	if t.Activation == "gelu" {
		act = nn.GELU()
	}
	ff := func(h value) (value, error) {
		h, err := g.module(sub(path, "linear1"), t.Linear1, h)
		if err == nil {
			h, err = g.module(sub(path, "activation"), act, h)
		}
		if err == nil {
			h, err = g.module(sub(path, "linear2"), t.Linear2, h)
		}
		return h, err
	}
	norm := func(name string, l *nn.LayerNormModule, h value) (value, error) {
		return g.module(sub(path, name), l, h)
	}
	if t.NormFirst {
		h, err := norm("norm1", t.Norm1, x)
		if err == nil {
			h, err = sa(h)
		}
		if err != nil {
			return x, err
		}
		x = add(x, h)
		if h, err = norm("norm2", t.Norm2, x); err == nil {
			h, err = ff(h)
		}
		if err != nil {
			return x, err
		}
		return add(x, h), nil
	}
	h, err := sa(x)
	if err == nil {
		x, err = norm("norm1", t.Norm1, add(x, h))
	}
	if err == nil {
		h, err = ff(x)
	}
	if err != nil {
		return x, err
	}
	return norm("norm2", t.Norm2, add(x, h))
}
