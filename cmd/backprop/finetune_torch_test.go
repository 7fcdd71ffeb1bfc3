package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// finetuneRecipe is what testdata/finetune_torch.py and backprop train are
// both given: the data it makes, the small ResNet (finetuneSpec's widths)
// and the fine-tuning recipe.
type finetuneRecipe struct {
	Threads          int     `json:"threads"`
	Seed             int     `json:"seed"`
	Size             int     `json:"size"`
	Noise            float64 `json:"noise"`
	Widths           []int   `json:"widths"`
	PretrainPerClass int     `json:"pretrain_per_class"`
	PretrainEpochs   int     `json:"pretrain_epochs"`
	Shots            int     `json:"shots"`
	TestPerClass     int     `json:"test_per_class"`
	Epochs           int     `json:"epochs"`
	FreezeEpochs     int     `json:"freeze_epochs"`
	LR               float64 `json:"lr"`
	Momentum         float64 `json:"momentum"`
	WeightDecay      float64 `json:"weight_decay"`
	BackboneLRScale  float64 `json:"backbone_lr_scale"`
	HeadSeeds        int     `json:"head_seeds"`
}

// finetuneSpec is the script's resnet(widths, classes) in backprop's spec
// grammar: a stem, one residual block per width (the first at stride 1,
// the others at stride 2, with a shortcut where the shape changes), global
// average pooling and the classifier head.
func finetuneSpec(widths []int, classes int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "conv(%d,3,pad=1,bias=0) batchnorm relu", widths[0])
	for i, w := range widths {
		stride := 2
		if i == 0 {
			stride = 1
		}
		fmt.Fprintf(&b, " residual(conv(%d,3,stride=%d,pad=1,bias=0) batchnorm relu conv(%d,3,pad=1,bias=0) batchnorm) relu", w, stride, w)
	}
	fmt.Fprintf(&b, " globalavgpool linear(%d)", classes)
	return b.String()
}

// TestFinetuneMatchesPyTorch is the check that fine-tuning matches
// PyTorch: a small ResNet pretrained by PyTorch on six classes of
// synthetic shapes, then fine-tuned on four shots a class of four other
// classes by PyTorch and by backprop train with the same recipe (full-batch
// SGD, so that the order of the images does not matter; the head fresh;
// the backbone frozen, batch norm in evaluation mode, then trained at a
// tenth of the learning rate), once frozen throughout (a linear probe) and
// once unfrozen after the first epochs. The fresh head's initialisation is
// the one thing the two cannot share, and the unfrozen run's accuracy
// varies by 2 to 3 points with it alone, so each recipe is run with four
// initialisations on each side: the mean test accuracies must agree to
// within 2 points. Skipped when PyTorch is not installed.
func TestFinetuneMatchesPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("trains six small networks (about a minute); skipped with -short")
	}
	py := os.Getenv("BACKPROP_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if out, err := exec.Command(py, "-c", "import torch, numpy, PIL").CombinedOutput(); err != nil {
		t.Skipf("PyTorch, numpy or PIL is not installed for %s (apt-get install python3-torch python3-pil, or set BACKPROP_PYTHON): %v %s", py, err, strings.TrimSpace(string(out)))
	}
	r := finetuneRecipe{
		Threads: 1, Size: 24, Noise: 0.2, Widths: []int{16, 32, 64},
		PretrainPerClass: 200, PretrainEpochs: 4, Shots: 4, TestPerClass: 60,
		Epochs: 40, FreezeEpochs: 30, LR: 0.05, Momentum: 0.9, WeightDecay: 1e-2, BackboneLRScale: 0.1,
		HeadSeeds: 4,
	}
	dir := t.TempDir()
	recipe, _ := json.Marshal(r)
	start := time.Now()
	// One thread: PyTorch's OpenMP threads only slow each other down on a
	// busy machine, and the accuracies do not depend on them.
	out, err := exec.Command(py, filepath.Join("testdata", "finetune_torch.py"), dir, string(recipe)).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("testdata/finetune_torch.py: %v\n%s", err, stderr)
	}
	var torchAcc struct {
		Pretrain float64   `json:"pretrain_accuracy"`
		Probe    []float64 `json:"probe"`
		Unfrozen []float64 `json:"unfrozen"`
	}
	if err := json.Unmarshal(out, &torchAcc); err != nil {
		t.Fatalf("the script's output %q: %v", out, err)
	}
	if len(torchAcc.Probe) != r.HeadSeeds || len(torchAcc.Unfrozen) != r.HeadSeeds {
		t.Fatalf("the script's output %q: want %d accuracies for each recipe", out, r.HeadSeeds)
	}
	t.Logf("PyTorch: pretrained to %.1f%% on its six classes, fine-tuned: linear probe %.1f%%, unfrozen after %d epochs %.1f%% (%.1f s)",
		100*torchAcc.Pretrain, 100*mean(torchAcc.Probe), r.FreezeEpochs, 100*mean(torchAcc.Unfrozen), time.Since(start).Seconds())

	spec := finetuneSpec(r.Widths, 4)
	for _, c := range []struct {
		name   string
		freeze int
		torch  []float64
		says   string
	}{
		{"linear probe", r.Epochs, torchAcc.Probe, "Backbone frozen throughout"},
		{"unfrozen", r.FreezeEpochs, torchAcc.Unfrozen, fmt.Sprintf("Backbone unfrozen after epoch %d", r.FreezeEpochs)},
	} {
		start := time.Now()
		var accs []float64
		for seed := 1; seed <= r.HeadSeeds; seed++ {
			stdout, stderr, code := run(t, "train", "--data", filepath.Join(dir, "shots"), "--model", spec,
				"--pretrained", filepath.Join(dir, "pretrained.safetensors"), "--image-size", strconv.Itoa(r.Size),
				"--batch-size", strconv.Itoa(4*r.Shots), "--epochs", strconv.Itoa(r.Epochs), "--freeze-epochs", strconv.Itoa(c.freeze),
				"--lr", fmt.Sprint(r.LR), "--momentum", fmt.Sprint(r.Momentum), "--weight-decay", fmt.Sprint(r.WeightDecay),
				"--backbone-lr-scale", fmt.Sprint(r.BackboneLRScale), "--schedule", "none", "--seed", strconv.Itoa(seed),
				"--out", filepath.Join(dir, fmt.Sprintf("run-%d-%d", c.freeze, seed)), "--threads", "2", "--json")
			if code != 0 {
				t.Fatalf("%s: train: exit %d\n%s", c.name, code, stderr)
			}
			for _, want := range []string{"started fresh for the data's classes: 10.weight, 10.bias", "ImageNet", c.says} {
				if !strings.Contains(stderr, want) {
					t.Errorf("%s: train's output lacks %q:\n%s", c.name, want, stderr)
				}
			}
			var res trainResult
			if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.TestAccuracy == nil {
				t.Fatalf("%s: train --json: %q: %v", c.name, stdout, err)
			}
			accs = append(accs, float64(*res.TestAccuracy))
		}
		got, want := mean(accs), mean(c.torch)
		t.Logf("%s: backprop %.1f%% %.3f, PyTorch %.1f%% %.3f (backprop: %.1f s)", c.name, 100*got, accs, 100*want, c.torch, time.Since(start).Seconds())
		if math.Abs(got-want) > 0.02 {
			t.Errorf("%s: backprop's mean test accuracy %.1f%%, PyTorch's %.1f%%: more than 2 points apart", c.name, 100*got, 100*want)
		}
	}
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
