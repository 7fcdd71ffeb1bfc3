// Package nn is backprop's layers and models: modules with named
// parameters, PyTorch's default initialisation, a one-line architecture
// spec, state dicts with PyTorch's names, and safetensors checkpoints that
// PyTorch reads and writes.
//
// # Modules
//
// A [Module] is anything with Forward(*autograd.Value) *autograd.Value.
// The layers (Linear, Conv2d, MaxPool2d, AvgPool2d, GlobalAvgPool2d,
// BatchNorm1d/2d, LayerNorm, Dropout, Embedding, Flatten and one per
// activation) are made by constructors named as in torch.nn, with optional
// arguments as [Option] values:
//
//	model := nn.Sequential(
//		nn.Conv2d(1, 32, 3, nn.Padding(1)), nn.ReLU(), nn.MaxPool2d(2),
//		nn.Flatten(), nn.Linear(32*14*14, 10),
//	)
//	opt := optim.Adam(nn.Parameters(model), ...)
//	loss := nn.CrossEntropy(model.Forward(x), labels)
//
// Each constructor returns a concrete type (*LinearModule, ...) whose
// fields, such as Weight and Bias, are the layer's tensors.
//
// # Writing your own module
//
// A custom module is a struct that embeds a [Container] and registers its
// parts by name as it makes them, as PyTorch's attribute assignment does:
//
//	type Block struct {
//		nn.Container
//		Attn *Attention // Forward(x, mask *autograd.Value) *autograd.Value
//		FC   *nn.LinearModule
//	}
//	b.Attn = nn.Child(&b.Container, "attn", NewAttention(d))
//
// Its Forward may take any arguments (several inputs, a mask) and return
// anything; every function that walks a model ([Parameters], [StateDict],
// [Train]/[Eval], [Freeze], [Clone], [Summary]) takes any module. A
// [List] holds modules of one type named by position, as
// torch.nn.ModuleList, so blocks registered as "blocks" own
// "blocks.0.attn.q.weight". The interfaces underneath stay open to
// hand-written modules: [Parent] (Children) for sub-modules,
// [ParameterOwner] and [BufferOwner] for tensors. A part assigned to a
// field but not registered would get gradients and yet never be optimised
// or saved; [CheckRegistered] reports such fields by path. See the
// transformer and residual examples.
//
// # Freezing and copies
//
// [Freeze] excludes a module from training, as requires_grad_(False) and
// eval() do in PyTorch: its parameters get no gradient, so optimisers
// (which skip parameters without one) leave them, and its BatchNorm and
// Dropout stay in evaluation mode even when [Train] is called on the
// whole model, as train.Fit does each epoch. [Parameters] still lists
// frozen parameters, as model.parameters() does; [TrainableParameters]
// leaves them out. [Clone] deep-copies a model into storage of its own.
//
// # Names
//
// Names follow PyTorch's state_dict: a module's own parameters (weight
// before bias), then its buffers, then its children's, depth-first. A
// Sequential names its children by position, counting layers without
// parameters, so the Linear after a Flatten at position 0 owns "1.weight".
// BatchNorm's buffers are running_mean, running_var and
// num_batches_tracked (a float32 here, an int64 in PyTorch; loading
// converts).
//
// # Random numbers and seeds
//
// Weights are drawn from a math/rand/v2 PCG generator, so the same seed
// gives the same model bit for bit. A constructor takes its generator from
// [WithRNG] or [Seed]; without either it draws from the package's default
// generator, which starts at seed 0 and can be reset with [ManualSeed]
// (torch.manual_seed). [Build] draws the whole model, layer by layer, from
// one generator. Linear and Conv2d use PyTorch's default initialisation
// (kaiming_uniform with a=√5, i.e. U(-1/√fan_in, 1/√fan_in), for weight
// and bias); [XavierUniform], [XavierNormal], [KaimingUniform] and
// [KaimingNormal] re-initialise a tensor. A Dropout layer seeds its own
// generator at construction; [RNGState] and [SetRNGState] save and restore
// all such generators so that a resumed run draws the same masks.
//
// # Training and evaluation
//
// Modules start in training mode. [Eval] switches Dropout off and makes
// BatchNorm use its running statistics; [Train] switches back. BatchNorm
// updates its running statistics on every Forward in training mode, even
// from an input marked autograd.NoGraph, as PyTorch does under no_grad.
//
// # Inference without a graph
//
// Forward(autograd.NoGraph(x)) runs a model without recording a graph: an
// op any of whose inputs is marked NoGraph records nothing and marks its
// output, so the parameters, which require gradients, are neither linked
// to the result nor given gradients. The mark travels with the values, not
// with the process, so any number of goroutines may run inference while
// others train; a model whose weights an optimiser is updating must not be
// read at the same time (evaluate a copy, loaded with its state dict).
//
// # Architecture specs
//
// [Build] turns a line such as "conv(32,3,pad=1) relu maxpool(2) flatten
// linear(10)" into a Sequential, inferring each layer's input size from a
// sample shape, and [SpecOf] (or SequentialModule.Spec) gives the
// canonical line back. The grammar is in [ParseSpec]'s documentation; "mlp"
// and "cnn" are presets. Arguments may be numbers or strings, and a layer
// may take a body of layers, as residual(conv(16,3,pad=1) relu) does.
// Every token is a registration ([LayerDef]): its arguments, how to build
// it and how to infer its shapes without allocating; user layers join the
// grammar with [Register], the built-in ones are declared the same way.
// Fused forms (Linear-ReLU as one op) belong to the layer's module, as a
// [Fuser]. [Summary] prints a model as Keras's summary() does.
//
// # Files
//
// [Save] writes a model's state dict to a safetensors file, atomically,
// with the architecture and input shape in its metadata; [Load] reads one
// back (or a file from PyTorch's safetensors.torch.save_file) strictly,
// failing with a *StateDictError that names each missing, unexpected or
// mis-shaped key and the shapes; [LoadModel] builds the model from the
// file's own architecture, after [InferShapes] has checked, without
// allocating, that the file holds every weight the architecture makes, so
// that a small file naming huge layers is refused rather than built.
// Strict loading accepts a BatchNorm without num_batches_tracked, as
// PyTorch does.
//
// # Errors
//
// Constructors panic on arguments that are a programming error (negative
// sizes, an option that does not apply), as autograd's ops do on shape
// mismatches. Everything that reads input from outside — specs, files,
// state dicts — returns errors instead.
package nn
