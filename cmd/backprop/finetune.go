package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
	"github.com/backprop-go/backprop/train"
)

// Fine-tuning a zoo model (nn.Zoo), or a spec, from a pretrained
// safetensors file: train's --pretrained, --freeze-epochs,
// --backbone-lr-scale and --normalize.
//
// A zoo model trained by backprop train is stored with the architecture
// "zoo:NAME(classes=N)" (zooPrefix), built by nn.Zoo, so that its state_dict
// names are torchvision's ("conv1.weight", "fc.weight"), not a spec's
// Sequential ones ("0.conv1.weight").

// zooPrefix marks an architecture built by nn.Zoo rather than nn.Build.
const zooPrefix = "zoo:"

// imageNetNorm is torchvision's ImageNet normalisation, the default with
// --pretrained.
var imageNetNorm = data.Normalization{Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}}

// finetuneConfig holds train's fine-tuning flags; a checkpoint stores it
// with the run's settings.
type finetuneConfig struct {
	Pretrained string `json:"pretrained,omitempty"`
	// FreezeEpochs is the number of epochs the backbone stays frozen;
	// as many as the run's epochs or more: frozen throughout (a linear
	// probe).
	FreezeEpochs int `json:"freeze_epochs,omitempty"`
	// BackboneLRScale multiplies the learning rate of the backbone's
	// parameter group with --pretrained; it is > 0, so 0 (absent from a
	// checkpoint) means the default.
	BackboneLRScale float64 `json:"backbone_lr_scale,omitempty"`
	// Normalize is none, imagenet or MEAN,STD lists; "" is the default:
	// imagenet with --pretrained, else the training images' own statistics.
	Normalize string `json:"normalize,omitempty"`
}

// Defaults of the fine-tuning flags.
const (
	defaultBackboneLRScale = 0.1
	pretrainedImageSize    = 224
)

func (f *finetuneConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&f.Pretrained, "pretrained", "", "start from this safetensors `file`'s weights: a zoo --model's (resnet18, ...: torchvision's names) or a spec's (its state_dict names); the classifier head (the last layer with weights) starts fresh for the data's classes; the defaults become --normalize imagenet and --image-size 224")
	fs.IntVar(&f.FreezeEpochs, "freeze-epochs", 0, "with --pretrained: train only the classifier head for the first `N` epochs (backbone weights and batch-norm statistics unchanged, batch norm in evaluation mode); N ≥ --epochs: frozen throughout, a linear probe")
	f.BackboneLRScale = defaultBackboneLRScale
	fs.Var(positiveFloat{&f.BackboneLRScale}, "backbone-lr-scale", "with --pretrained: the backbone trains at --lr × this `scale` > 0 (its own parameter group), the head at --lr")
	fs.StringVar(&f.Normalize, "normalize", "", "images: none (pixels in [0, 1]), imagenet, or MEAN,STD (or one mean per channel then one std per channel) after scaling pixels to [0, 1] (default: imagenet with --pretrained, else the training images' own mean and std)")
}

// positiveFloat is a flag that takes a finite number > 0: 0 is refused
// when given, so that 0 in a saved configuration can mean the default.
type positiveFloat struct{ p *float64 }

func (f positiveFloat) String() string {
	if f.p == nil {
		return ""
	}
	return strconv.FormatFloat(*f.p, 'g', -1, 64)
}

func (f positiveFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("want a factor > 0 (--freeze-epochs keeps the backbone unchanged)")
	}
	*f.p = v
	return nil
}

// dataDefaults sets the image size --pretrained implies when none is given.
func (f finetuneConfig) dataDefaults(d *dataConfig) {
	if f.Pretrained != "" && d.ImageSize == 0 {
		d.ImageSize = pretrainedImageSize
	}
}

// lrScale is the backbone's learning-rate factor.
func (f finetuneConfig) lrScale() float64 {
	if f.BackboneLRScale == 0 {
		return defaultBackboneLRScale
	}
	return f.BackboneLRScale
}

// validate checks the fine-tuning flags that need no data.
func (f finetuneConfig) validate() error {
	switch {
	case f.FreezeEpochs < 0:
		return usagef("--freeze-epochs %d: want a number of epochs ≥ 0", f.FreezeEpochs)
	case f.FreezeEpochs > 0 && f.Pretrained == "":
		return usagef("--freeze-epochs needs --pretrained FILE: a backbone is frozen to keep what it learnt")
	case !(f.BackboneLRScale >= 0) || math.IsInf(f.BackboneLRScale, 0): // 0: absent from a checkpoint
		return usagef("--backbone-lr-scale %v: want a factor > 0", f.BackboneLRScale)
	}
	if f.Normalize != "" {
		if _, err := parseNormalization(f.Normalize, 3); err != nil {
			if _, err1 := parseNormalization(f.Normalize, 1); err1 != nil {
				return err
			}
		}
	}
	return nil
}

// zooArchitecture turns --model NAME, a bare zoo name, into the zoo
// architecture for the data's classes (when training: summary keeps the
// spec token and its 1000 classes).
func zooArchitecture(model string, src *dataSource) (string, bool) {
	name := strings.ToLower(model)
	if !slices.Contains(nn.ZooNames(), name) || src == nil || src.train == nil || len(src.classes) == 0 {
		return "", false
	}
	return fmt.Sprintf("%s%s(classes=%d)", zooPrefix, name, len(src.classes)), true
}

// parseZooArch reads "zoo:NAME(classes=N)" (or "zoo:NAME", 1000 classes).
func parseZooArch(arch string) (name string, classes int, ok bool, err error) {
	rest, found := strings.CutPrefix(arch, zooPrefix)
	if !found {
		return "", 0, false, nil
	}
	name, args, hasArgs := strings.Cut(rest, "(")
	classes = 1000
	if hasArgs {
		v, ok := strings.CutSuffix(strings.TrimPrefix(args, "classes="), ")")
		n, e := strconv.Atoi(v)
		if !ok || !strings.HasPrefix(args, "classes=") || e != nil || n < 1 || n > 1<<20 {
			return "", 0, true, fmt.Errorf("architecture %q: want %sNAME(classes=N), N from 1 to %d", shortText(arch), zooPrefix, 1<<20)
		}
		classes = n
	}
	if !slices.Contains(nn.ZooNames(), name) {
		return "", 0, true, fmt.Errorf("architecture %q: unknown zoo model %q (have %s)", shortText(arch), shortText(name), strings.Join(nn.ZooNames(), ", "))
	}
	return name, classes, true, nil
}

// buildArch builds a zoo architecture with nn.Zoo, any other with nn.Build.
func buildArch(arch string, shape []int, opts ...nn.Option) (nn.Module, error) {
	name, classes, ok, err := parseZooArch(arch)
	if !ok {
		return nn.Build(arch, shape, opts...)
	}
	if err != nil {
		return nil, err
	}
	if len(shape) != 3 || shape[0] != 3 || shape[1] > maxImageSize || shape[2] > maxImageSize {
		return nil, fmt.Errorf("%s takes RGB images [3, H, W] with H, W at most %d, got %v", name, maxImageSize, shortShape(shape))
	}
	m, err := nn.Zoo(name, classes, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := m.(nn.ShapeInferrer).OutputShape(shape); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return m, nil
}

// weightsArch is the architecture --weights FILE --arch ARCH builds: a
// bare zoo name or a single zoo token (resnet18, resnet18(classes=10))
// names the zoo model with torchvision's names when the file has them, its
// classes taken from the file's head.
func weightsArch(arch string, ck *train.Checkpoint) string {
	name, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(arch)), "(")
	if !slices.Contains(nn.ZooNames(), name) || strings.ContainsAny(arch, " \t") {
		return arch
	}
	head := ck.Model[headPrefix(name)+"weight"]
	if head == nil || len(head.Shape()) != 2 {
		return arch // not torchvision's names: the spec token's
	}
	return fmt.Sprintf("%s%s(classes=%d)", zooPrefix, name, head.Shape()[0])
}

// headPrefix is the classifier head's name prefix in a zoo model.
func headPrefix(name string) string {
	if name == "mobilenet_v2" {
		return "classifier.1."
	}
	return "fc."
}

// setup applies the fine-tuning flags to a freshly built model: the
// images' normalisation, the pretrained weights (not on --resume: the
// checkpoint has them), and freezing. It returns the callback that
// unfreezes the backbone, or nil.
func (f finetuneConfig) setup(model nn.Module, arch string, src *dataSource, resume *train.Checkpoint, epochs int, log io.Writer) (train.Callback, error) {
	if err := f.normalizeImages(src, log); err != nil {
		return nil, err
	}
	if f.Pretrained == "" {
		return nil, nil
	}
	head, body := headOf(model)
	if body == nil {
		return nil, usagef("--pretrained needs a zoo --model (%s), or a spec with layers before the last one that has weights (the classifier head)", strings.Join(nn.ZooNames(), ", "))
	}
	if resume == nil {
		if err := loadPretrained(model, head, modelName(arch), f.Pretrained, log); err != nil {
			return nil, err
		}
	}
	epoch := 0
	if resume != nil {
		epoch = resume.Epoch
	}
	if f.FreezeEpochs == 0 || epoch >= f.FreezeEpochs {
		return nil, nil
	}
	for _, m := range body {
		nn.Freeze(m)
	}
	if f.FreezeEpochs >= epochs {
		fmt.Fprintf(log, "Backbone frozen throughout (a linear probe): training only %s*\n", head)
		return nil, nil
	}
	fmt.Fprintf(log, "Backbone frozen for the first %d epochs: training only %s*\n", f.FreezeEpochs, head)
	return train.CallbackFuncs{Epoch: func(e train.EpochStats) {
		if e.Epoch == f.FreezeEpochs {
			nn.Unfreeze(model)
			fmt.Fprintf(log, "\nBackbone unfrozen after epoch %d: training all layers, the backbone at --lr × %g\n", e.Epoch, f.lrScale())
		}
	}}, nil
}

// normalizeImages sets the images' normalisation that --normalize (or
// --pretrained) chooses. The data sets share src.image.Norm: setting it
// changes what they give, and what the checkpoint's image_spec records.
func (f finetuneConfig) normalizeImages(src *dataSource, log io.Writer) error {
	choice := f.Normalize
	if choice == "" && f.Pretrained != "" {
		choice = "imagenet"
	}
	if choice == "" || (f.Normalize == "" && src.image == nil) {
		return nil // nothing chosen, or --pretrained's default for data that is not images
	}
	if src.image == nil || src.image.Norm == nil {
		return usagef("--normalize %s: only image folders are normalised by choice (MNIST and Fashion-MNIST keep pixels in [0, 1])", shortText(choice))
	}
	n, err := parseNormalization(choice, src.image.Channels)
	if err != nil {
		return err
	}
	*src.image.Norm = *n
	if choice == "imagenet" && f.Normalize == "" {
		fmt.Fprintln(log, "Normalising images with ImageNet's mean and std, as the pretrained weights expect (--normalize chooses another)")
	}
	return nil
}

// parseNormalization reads --normalize: none (the identity: pixels stay in
// [0, 1]), imagenet (3 channels), or MEAN,STD as parseNormalize reads it.
func parseNormalization(s string, channels int) (*data.Normalization, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none":
		n := &data.Normalization{}
		for range channels {
			n.Mean, n.Std = append(n.Mean, 0), append(n.Std, 1)
		}
		return n, nil
	case "imagenet":
		if channels != 3 {
			return nil, usagef("--normalize imagenet needs 3 channels (colour images), not %d", channels)
		}
		return &data.Normalization{Mean: slices.Clone(imageNetNorm.Mean), Std: slices.Clone(imageNetNorm.Std)}, nil
	}
	return parseNormalize(s, channels)
}

// headOf returns the name prefix of a model's classifier head ("fc." in
// a ResNet, "classifier.1." in MobileNetV2, "10." in a spec whose layer 10
// is the last with weights) and the modules before it, the backbone; nil
// when there is no backbone.
func headOf(model nn.Module) (string, []any) {
	switch m := model.(type) {
	case *nn.ResNetModule:
		return headPrefix(m.Arch), []any{m.Conv1, m.BN1, m.Layers[0], m.Layers[1], m.Layers[2], m.Layers[3]}
	case *nn.MobileNetV2Module:
		return headPrefix("mobilenet_v2"), []any{m.Features}
	case *nn.SequentialModule:
		for i := len(m.Layers) - 1; i > 0; i-- {
			if len(nn.NamedParameters(m.Layers[i])) == 0 {
				continue
			}
			body := make([]any, i)
			for j, l := range m.Layers[:i] {
				body[j] = l
			}
			return strconv.Itoa(i) + ".", body
		}
	}
	return "", nil
}

// modelName names an architecture in messages: the zoo name, or "the
// spec's".
func modelName(arch string) string {
	if name, _, ok, _ := parseZooArch(arch); ok {
		return name + "'s"
	}
	return "the spec's"
}

// newOptimizer builds train's optimiser. A fine-tuned zoo model's
// parameters are two groups, the backbone's at --lr × --backbone-lr-scale
// and the head's at --lr (the schedule scales both); any other run has one
// group of every parameter.
func (f finetuneConfig) newOptimizer(c trainConfig, model nn.Module) (optim.Optimizer, error) {
	prefix, backbone := headOf(model)
	if f.Pretrained == "" || backbone == nil {
		return newOptimizer(c, nn.Parameters(model))
	}
	var body, head []*ag.Value
	for _, p := range nn.NamedParameters(model) {
		if strings.HasPrefix(p.Name, prefix) {
			head = append(head, p.Value)
		} else {
			body = append(body, p.Value)
		}
	}
	// The head first, so that the optimiser's LR (group 0's) is --lr.
	return newOptimizer(c, optim.Groups(optim.ParamGroup(head), optim.ParamGroup(body, optim.LR(effectiveLR(c)*f.lrScale()))))
}

// loadPretrained copies a pretrained file's tensors into a zoo model:
// every tensor but the head must be there with its shape
// (num_batches_tracked may be missing). The head always starts fresh: the
// data's classes are not the file's, even when they are as many. One line
// says which keys started fresh.
func loadPretrained(model nn.Module, head, name, path string, log io.Writer) error {
	file, _, err := nn.LoadFile(path)
	if err != nil {
		return fmt.Errorf("--pretrained: %w", err)
	}
	sd := map[string]*tensor.Tensor{}
	var fresh, missing []string
	for _, s := range nn.NamedState(model) {
		t, ok := file[s.Name]
		switch {
		case strings.HasPrefix(s.Name, head):
			fresh = append(fresh, s.Name)
		case ok && t != nil && tensor.EqualShapes(t.Shape(), s.Tensor.Shape()):
			sd[s.Name] = t
		case strings.HasSuffix(s.Name, "num_batches_tracked") && !ok:
		case ok:
			return fmt.Errorf("--pretrained %s: %s has shape %v, %s is %v", path, s.Name, t.Shape(), name, s.Tensor.Shape())
		default:
			missing = append(missing, s.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("--pretrained %s: not %s weights (a zoo model's have torchvision's names): %d tensors missing, such as %s", path, name, len(missing), missing[0])
	}
	if err := nn.LoadStateDict(model, sd, false); err != nil {
		return fmt.Errorf("--pretrained %s: %w", path, err)
	}
	fmt.Fprintf(log, "Loaded %d tensors from %s; started fresh for the data's classes: %s\n", len(sd), path, strings.Join(fresh, ", "))
	return nil
}

// loadWeights is predict's --weights FILE --arch ARCH: a plain safetensors
// file (one PyTorch wrote, say) with the architecture given on the command
// line, fed images of shape (C,H,W) normalised by normalize ("imagenet",
// "none", or MEAN,STD as eval's), its classes those the file's metadata
// names or else 0..N-1.
func loadWeights(weights, arch, shape, normalize string) (*savedModel, error) {
	s, err := parseInts(shape)
	if err != nil {
		return nil, usagef("--input-shape: %v", err)
	}
	if err := checkSampleShape(s); err != nil {
		return nil, usagef("--input-shape: %v", err)
	}
	ck, err := train.LoadCheckpoint(weights)
	if err != nil {
		return nil, err
	}
	arch = weightsArch(arch, ck)
	m := &savedModel{path: weights, arch: arch, shape: s}
	if m.model, err = buildWithWeights(arch, s, ck, weights); err != nil {
		return nil, err
	}
	if len(s) == 3 && (s[0] == 1 || s[0] == 3) {
		m.image = &data.ImageSpec{Channels: s[0], Height: s[1], Width: s[2]}
		if normalize != "" {
			if m.image.Norm, err = parseNormalization(normalize, s[0]); err != nil {
				return nil, err
			}
		}
	}
	out := m.model.Forward(ag.NoGraph(tensor.Zeros(append([]int{1}, s...)...))).Shape()
	var names []string
	if v, ok := ck.Meta[metaClasses]; ok && json.Unmarshal([]byte(v), &names) == nil && len(out) == 2 && len(names) == out[1] {
		m.classes = names
	} else if len(out) == 2 {
		m.classes = make([]string, out[1])
		for i := range m.classes {
			m.classes[i] = strconv.Itoa(i)
		}
	}
	return m, nil
}
