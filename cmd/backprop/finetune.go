package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
	"github.com/backprop-go/backprop/train"
)

// Fine-tuning a zoo model (nn.Zoo) from a pretrained safetensors file.
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
	Pretrained     string `json:"pretrained,omitempty"`
	FreezeBackbone bool   `json:"freeze_backbone,omitempty"`
	UnfreezeAfter  int    `json:"unfreeze_after,omitempty"`
}

func (f *finetuneConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&f.Pretrained, "pretrained", "", "with a zoo --model (resnet18, ...): start from this safetensors file's weights (torchvision names); the classifier head starts fresh when its shape differs; images are normalised with ImageNet's mean and std")
	fs.BoolVar(&f.FreezeBackbone, "freeze-backbone", false, "zoo models: train only the classifier head (backbone weights and batch-norm statistics unchanged)")
	fs.IntVar(&f.UnfreezeAfter, "unfreeze-after", 0, "with --freeze-backbone: train the whole network after this many epochs (0: frozen throughout)")
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

// setup applies the fine-tuning flags to a freshly built model: ImageNet
// normalisation of the images (with --pretrained), the pretrained weights
// (not on --resume: the checkpoint has them), and freezing. It returns the
// callback that unfreezes the backbone, or nil.
func (f finetuneConfig) setup(model nn.Module, arch string, src *dataSource, resume *train.Checkpoint, log io.Writer) (train.Callback, error) {
	if f.Pretrained == "" && !f.FreezeBackbone && f.UnfreezeAfter == 0 {
		return nil, nil
	}
	name, _, isZoo, _ := parseZooArch(arch)
	switch {
	case !isZoo:
		return nil, usagef("--pretrained, --freeze-backbone and --unfreeze-after need a zoo --model (%s)", strings.Join(nn.ZooNames(), ", "))
	case f.UnfreezeAfter < 0:
		return nil, usagef("--unfreeze-after %d: want a number of epochs ≥ 0", f.UnfreezeAfter)
	case f.UnfreezeAfter > 0 && !f.FreezeBackbone:
		return nil, usagef("--unfreeze-after needs --freeze-backbone")
	}
	if f.Pretrained != "" && src.image != nil && src.image.Norm != nil && src.image.Channels == 3 {
		// The datasets share this normalisation: setting it here changes
		// what they give, and what the checkpoint's image_spec records.
		*src.image.Norm = data.Normalization{Mean: slices.Clone(imageNetNorm.Mean), Std: slices.Clone(imageNetNorm.Std)}
		fmt.Fprintln(log, "Normalising images with ImageNet's mean and std, as the pretrained weights expect")
	}
	if f.Pretrained != "" && resume == nil {
		if err := loadPretrained(model, name, f.Pretrained, log); err != nil {
			return nil, err
		}
	}
	epoch := 0
	if resume != nil {
		epoch = resume.Epoch
	}
	if !f.FreezeBackbone || (f.UnfreezeAfter > 0 && epoch >= f.UnfreezeAfter) {
		return nil, nil
	}
	freezeBackbone(model, name)
	fmt.Fprintf(log, "Backbone frozen: training only %s*\n", headPrefix(name))
	if f.UnfreezeAfter == 0 {
		return nil, nil
	}
	return train.CallbackFuncs{Epoch: func(e train.EpochStats) {
		if e.Epoch == f.UnfreezeAfter {
			nn.Unfreeze(model)
			fmt.Fprintf(log, "\nBackbone unfrozen after epoch %d: training all layers\n", e.Epoch)
		}
	}}, nil
}

// freezeBackbone freezes every child of a zoo model but its head. The
// optimiser keeps all the parameters: frozen ones get no gradient and are
// skipped until nn.Unfreeze.
func freezeBackbone(model nn.Module, name string) {
	switch m := model.(type) {
	case *nn.ResNetModule:
		for _, c := range []any{m.Conv1, m.BN1, m.Layers[0], m.Layers[1], m.Layers[2], m.Layers[3]} {
			nn.Freeze(c)
		}
	case *nn.MobileNetV2Module:
		nn.Freeze(m.Features)
	}
}

// loadPretrained copies a pretrained file's tensors into a zoo model: every
// tensor but the head must be there with its shape (num_batches_tracked may
// be missing); the head is loaded when its shape fits and otherwise keeps
// its fresh initialisation, said in one line.
func loadPretrained(model nn.Module, name, path string, log io.Writer) error {
	file, _, err := nn.LoadFile(path)
	if err != nil {
		return fmt.Errorf("--pretrained: %w", err)
	}
	head := headPrefix(name)
	sd := map[string]*tensor.Tensor{}
	var fresh, missing []string
	for _, s := range nn.NamedState(model) {
		t, ok := file[s.Name]
		fits := ok && t != nil && tensor.EqualShapes(t.Shape(), s.Tensor.Shape())
		switch {
		case fits:
			sd[s.Name] = t
		case strings.HasPrefix(s.Name, head):
			fresh = append(fresh, s.Name)
		case strings.HasSuffix(s.Name, "num_batches_tracked") && !ok:
		case ok:
			return fmt.Errorf("--pretrained %s: %s has shape %v, %s's is %v", path, s.Name, t.Shape(), name, s.Tensor.Shape())
		default:
			missing = append(missing, s.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("--pretrained %s: not %s's weights with torchvision's names: %d tensors missing, such as %s", path, name, len(missing), missing[0])
	}
	if err := nn.LoadStateDict(model, sd, false); err != nil {
		return fmt.Errorf("--pretrained %s: %w", path, err)
	}
	fmt.Fprintf(log, "Loaded %d tensors from %s", len(sd), path)
	if len(fresh) > 0 {
		fmt.Fprintf(log, "; the head starts fresh for the data's classes: %s", strings.Join(fresh, ", "))
	}
	fmt.Fprintln(log)
	return nil
}

// loadWeights is predict's --weights FILE --arch ARCH: a plain safetensors
// file (one PyTorch wrote, say) with the architecture given on the command
// line, fed images of shape (C,H,W) normalised by normalize ("imagenet",
// "none", or MEAN,STD as eval's), its classes named 0..N-1.
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
		switch normalize {
		case "", "none":
		case "imagenet":
			if s[0] != 3 {
				return nil, usagef("--normalize imagenet needs 3 channels")
			}
			n := imageNetNorm
			m.image.Norm = &n
		default:
			if m.image.Norm, err = parseNormalize(normalize, s[0]); err != nil {
				return nil, err
			}
		}
	}
	out := m.model.Forward(ag.NoGraph(tensor.Zeros(append([]int{1}, s...)...))).Shape()
	if len(out) == 2 {
		m.classes = make([]string, out[1])
		for i := range m.classes {
			m.classes[i] = strconv.Itoa(i)
		}
	}
	return m, nil
}
