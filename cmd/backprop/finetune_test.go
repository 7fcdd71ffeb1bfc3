package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
	"github.com/backprop-go/backprop/train"
)

// writeTwoClassFolder writes n small PNGs per class: reddish and bluish.
func writeTwoClassFolder(t *testing.T, root string, n int) string {
	t.Helper()
	for ci, class := range []string{"cat", "dog"} {
		dir := filepath.Join(root, class)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			img := image.NewRGBA(image.Rect(0, 0, 20, 20))
			for y := range 20 {
				for x := range 20 {
					v := uint8((x*13 + y*7 + i*29) % 80)
					c := color.RGBA{200 + v/2, v, v, 255}
					if ci == 1 {
						c = color.RGBA{v, v, 200 + v/2, 255}
					}
					img.Set(x, y, c)
				}
			}
			f, err := os.Create(filepath.Join(dir, string(rune('a'+i))+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	return root
}

// checkLinearProbe fine-tunes resnet18 from pretrained (1000 classes) with
// a frozen backbone and checks the run, the checkpoint and predict.
func checkLinearProbe(t *testing.T, pretrained string) {
	t.Helper()
	dir := t.TempDir()
	folder := writeTwoClassFolder(t, filepath.Join(dir, "pets"), 5)
	out := filepath.Join(dir, "run")
	start := time.Now()
	_, stderr, code := run(t, "train", "--data", folder, "--model", "resnet18", "--pretrained", pretrained,
		"--freeze-epochs", "1", "--epochs", "1", "--image-size", "32", "--batch-size", "4", "--out", out, "--threads", "2")
	t.Logf("train: %.1f s", time.Since(start).Seconds())
	if code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"started fresh for the data's classes: fc.weight, fc.bias", "ImageNet", "Backbone frozen throughout"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("train's output lacks %q:\n%s", want, stderr)
		}
	}
	ck, err := train.LoadCheckpoint(filepath.Join(out, train.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if a := ck.Meta[metaArchitecture]; a != "zoo:resnet18(classes=2)" {
		t.Errorf("architecture %q", a)
	}
	if s := ck.Meta[metaImageSpec]; !strings.Contains(s, "0.485") {
		t.Errorf("image_spec %s lacks ImageNet's mean", s)
	}
	file, _, err := nn.LoadFile(pretrained)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for name, w := range ck.Model {
		if strings.HasPrefix(name, "fc.") || strings.HasSuffix(name, "num_batches_tracked") {
			continue
		}
		p, ok := file[name]
		if !ok {
			if !strings.HasSuffix(name, "num_batches_tracked") {
				t.Errorf("%s not in the pretrained file", name)
			}
			continue
		}
		if !tensor.EqualShapes(p.Shape(), w.Shape()) {
			t.Fatalf("%s: shape %v, pretrained %v", name, w.Shape(), p.Shape())
		}
		pd, wd := p.Data(), w.Data()
		for i := range pd {
			if pd[i] != wd[i] {
				changed++
				t.Errorf("%s changed under --freeze-epochs (element %d: %v → %v)", name, i, pd[i], wd[i])
				break
			}
		}
	}
	if changed == 0 && ck.Model["fc.weight"].Shape()[0] != 2 {
		t.Errorf("fc.weight %v, want 2 rows", ck.Model["fc.weight"].Shape())
	}
	img := filepath.Join(folder, "dog", "a.png")
	stdout, stderr, code := run(t, "predict", out, img, "--json")
	if code != 0 {
		t.Fatalf("predict: exit %d\n%s", code, stderr)
	}
	var preds []struct {
		Top []struct{ Class string } `json:"top"`
	}
	if err := json.Unmarshal([]byte(stdout), &preds); err != nil || len(preds) != 1 || len(preds[0].Top) == 0 {
		t.Fatalf("predict's JSON %q: %v", stdout, err)
	}
	if _, stderr, code := run(t, "summary", out); code != 0 {
		t.Fatalf("summary: exit %d\n%s", code, stderr)
	}
	// The pretrained file itself, with the zoo name: classes 0..999.
	stdout, stderr, code = run(t, "predict", "--weights", pretrained, "--arch", "resnet18", "--input-shape", "3,32,32", "--normalize", "imagenet", "--top", "1", img)
	if code != 0 {
		t.Fatalf("predict --weights: exit %d\n%s", code, stderr)
	}
	t.Logf("predict --weights: %s", strings.TrimSpace(stdout))
}

// TestFinetuneLinearProbe: a pretrained file written by backprop itself.
func TestFinetuneLinearProbe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resnet18.safetensors")
	if err := nn.Save(path, nn.ResNet18(1000, nn.Seed(3)), nil); err != nil {
		t.Fatal(err)
	}
	checkLinearProbe(t, path)
}

// TestFinetuneTorchvision: torchvision's resnet18 with random weights and
// batch-norm statistics, saved by PyTorch (skipped without torchvision).
func TestFinetuneTorchvision(t *testing.T) {
	py := os.Getenv("BACKPROP_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if out, err := exec.Command(py, "-c", "import torch, torchvision").CombinedOutput(); err != nil {
		t.Skipf("torchvision is not installed for %s (apt-get install python3-torchvision, or set BACKPROP_PYTHON): %v %s", py, err, strings.TrimSpace(string(out)))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "resnet18.safetensors")
	script := `
import json, struct, sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18()
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.weight.uniform_(0.5, 1.5); mod.bias.normal_(0, 0.1)
            mod.running_mean.normal_(0, 0.1); mod.running_var.uniform_(0.5, 1.5)
header, blobs, off = {}, [], 0
for k, v in m.state_dict().items():
    v = v.detach().contiguous()
    dt = {torch.float32: "F32", torch.int64: "I64"}[v.dtype]
    b = v.numpy().tobytes()
    header[k] = {"dtype": dt, "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b); off += len(b)
h = json.dumps(header).encode()
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h)
    for b in blobs: f.write(b)
`
	start := time.Now()
	if out, err := exec.Command(py, "-c", script, path).CombinedOutput(); err != nil {
		t.Fatalf("writing resnet18 with PyTorch: %v\n%s", err, out)
	}
	t.Logf("PyTorch wrote the file in %.1f s", time.Since(start).Seconds())
	checkLinearProbe(t, path)
}

// TestFinetuneFlagErrors: the fine-tuning flags' refusals.
func TestFinetuneFlagErrors(t *testing.T) {
	folder := writeTwoClassFolder(t, filepath.Join(t.TempDir(), "pets"), 2)
	_, stderr, code := run(t, "train", "--data", folder, "--model", "cnn", "--pretrained", "missing.safetensors", "--out", filepath.Join(t.TempDir(), "r"))
	if code != 1 || !strings.Contains(stderr, "--pretrained") || !strings.Contains(stderr, "missing.safetensors") {
		t.Errorf("a missing --pretrained file: exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "resnet18", "--freeze-epochs", "2"}, "needs --pretrained"},
		{[]string{"--model", "resnet18", "--freeze-epochs", "-1"}, "--freeze-epochs -1"},
		{[]string{"--model", "resnet18", "--backbone-lr-scale", "-0.5"}, "--backbone-lr-scale"},
		{[]string{"--model", "resnet18", "--backbone-lr-scale", "0"}, "--backbone-lr-scale"},
		{[]string{"--model", "resnet18", "--normalize", "imagenet,1"}, "--normalize"},
		{[]string{"--model", "resnet18", "--normalize", "bogus"}, "--normalize"},
	} {
		args := append([]string{"train", "--data", folder, "--out", filepath.Join(t.TempDir(), "r")}, c.args...)
		_, stderr, code := run(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, want 2 and %q: %s", c.args, code, c.want, stderr)
		}
	}
}

// TestParseZooArch reads the zoo architectures a checkpoint stores.
func TestParseZooArch(t *testing.T) {
	if n, c, ok, err := parseZooArch("zoo:resnet18(classes=2)"); !ok || err != nil || n != "resnet18" || c != 2 {
		t.Errorf("got %s %d %v %v", n, c, ok, err)
	}
	if _, c, ok, err := parseZooArch("zoo:mobilenet_v2"); !ok || err != nil || c != 1000 {
		t.Errorf("got %d %v %v", c, ok, err)
	}
	for _, bad := range []string{"zoo:vgg", "zoo:resnet18(classes=0)", "zoo:resnet18(x=2)"} {
		if _, _, ok, err := parseZooArch(bad); !ok || err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, _, ok, _ := parseZooArch("resnet18"); ok {
		t.Error("a spec token read as a zoo architecture")
	}
}

// TestFinetuneFreezeEpochs: the backbone trains from the epoch after
// --freeze-epochs, with the optimiser built once.
func TestFinetuneFreezeEpochs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "resnet18.safetensors")
	if err := nn.Save(path, nn.ResNet18(1000, nn.Seed(3)), nil); err != nil {
		t.Fatal(err)
	}
	folder := writeTwoClassFolder(t, filepath.Join(dir, "pets"), 4)
	out := filepath.Join(dir, "run")
	_, stderr, code := run(t, "train", "--data", folder, "--model", "resnet18", "--pretrained", path,
		"--freeze-epochs", "1", "--epochs", "2", "--image-size", "32", "--batch-size", "4", "--out", out, "--threads", "2", "--test-split", "0")
	if code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "Backbone unfrozen after epoch 1: training all layers, the backbone at --lr × 0.1") || !strings.Contains(stderr, "Backbone frozen for the first 1 epochs") {
		t.Errorf("no unfreezing line:\n%s", stderr)
	}
	ck, err := train.LoadCheckpoint(filepath.Join(out, train.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	file, _, err := nn.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conv1.weight", "layer4.1.bn2.running_mean"} {
		a, b := file[name].Data(), ck.Model[name].Data()
		same := true
		for i := range a {
			same = same && a[i] == b[i]
		}
		if same {
			t.Errorf("%s unchanged after unfreezing", name)
		}
	}
}

// TestFinetuneNormalize: --normalize sets the images' normalisation the
// checkpoint records: none, imagenet, one MEAN,STD pair or one per channel.
func TestFinetuneNormalize(t *testing.T) {
	folder := writeTwoClassFolder(t, filepath.Join(t.TempDir(), "pets"), 3)
	for _, c := range []struct {
		normalize string
		want      string
	}{
		{"none", `"mean":[0,0,0],"std":[1,1,1]`},
		{"imagenet", `"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]`},
		{"0.5,0.25", `"mean":[0.5,0.5,0.5],"std":[0.25,0.25,0.25]`},
		{"0.1,0.2,0.3,1,2,4", `"mean":[0.1,0.2,0.3],"std":[1,2,4]`},
	} {
		out := filepath.Join(t.TempDir(), "run")
		_, stderr, code := run(t, "train", "--data", folder, "--model", "flatten linear(2)", "--normalize", c.normalize,
			"--epochs", "1", "--image-size", "8", "--test-split", "0", "--out", out, "--quiet")
		if code != 0 {
			t.Fatalf("--normalize %s: exit %d\n%s", c.normalize, code, stderr)
		}
		ck, err := train.LoadCheckpoint(filepath.Join(out, train.CheckpointFile))
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.ReplaceAll(ck.Meta[metaImageSpec], " ", ""); !strings.Contains(s, c.want) {
			t.Errorf("--normalize %s: image_spec %s, want %s", c.normalize, s, c.want)
		}
	}
}

// TestFinetuneResume: a fine-tuning run resumed past its frozen epochs
// trains every layer, its two parameter groups restored from the
// checkpoint.
func TestFinetuneResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pre.safetensors")
	spec := "conv(4,3,pad=1) batchnorm relu globalavgpool linear(3)"
	pre, err := nn.Build(spec, []int{3, 8, 8}, nn.Seed(5))
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.Save(path, pre, nil); err != nil {
		t.Fatal(err)
	}
	folder := writeTwoClassFolder(t, filepath.Join(dir, "pets"), 3)
	spec2 := strings.Replace(spec, "linear(3)", "linear(2)", 1)
	out := filepath.Join(dir, "run")
	_, stderr, code := run(t, "train", "--data", folder, "--model", spec2, "--pretrained", path, "--freeze-epochs", "1",
		"--epochs", "1", "--image-size", "8", "--test-split", "0", "--out", out)
	if code != 0 || !strings.Contains(stderr, "Backbone frozen throughout") || !strings.Contains(stderr, "started fresh for the data's classes: 4.weight, 4.bias") {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	ck, err := train.LoadCheckpoint(filepath.Join(out, train.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	file, _, err := nn.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ck.Model["0.weight"].Data(), file["0.weight"].Data()) {
		t.Error("the frozen conv changed")
	}
	_, stderr, code = run(t, "train", "--resume", out, "--epochs", "2")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "Backbone frozen") {
		t.Errorf("resumed past --freeze-epochs, the backbone is frozen again:\n%s", stderr)
	}
	ck, err = train.LoadCheckpoint(filepath.Join(out, train.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(ck.Model["0.weight"].Data(), file["0.weight"].Data()) {
		t.Error("the conv did not train after the frozen epoch")
	}
}

// TestEvalWeightsFolder: eval --weights --arch reads an image folder at
// the model's input size, normalised as --normalize says (none when not
// given), and names the file's classes 0..N-1 in predict.
func TestEvalWeightsFolder(t *testing.T) {
	dir := t.TempDir()
	folder := writeTwoClassFolder(t, filepath.Join(dir, "pets"), 3)
	spec := "conv(4,3,pad=1) relu globalavgpool linear(2)"
	m, err := nn.Build(spec, []int{3, 8, 8}, nn.Seed(2))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "w.safetensors")
	if err := nn.Save(path, m, nil); err != nil {
		t.Fatal(err)
	}
	for _, norm := range []string{"", "none", "imagenet", "0.5,0.5"} {
		args := []string{"eval", "--weights", path, "--arch", spec, "--input-shape", "3,8,8", "--data", folder, "--json"}
		if norm != "" {
			args = append(args, "--normalize", norm)
		}
		stdout, stderr, code := run(t, args...)
		var res struct{ Samples int }
		if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res.Samples == 0 {
			t.Errorf("--normalize %q: exit %d, %q\n%s", norm, code, stdout, stderr)
		}
	}
	stdout, stderr, code := run(t, "predict", "--weights", path, "--arch", spec, "--input-shape", "3,8,8", "--json", filepath.Join(folder, "cat", "a.png"))
	if code != 0 || !strings.Contains(stdout, `"class":"0"`) && !strings.Contains(stdout, `"class":"1"`) {
		t.Errorf("predict --weights: exit %d, %s\n%s", code, stdout, stderr)
	}
}
