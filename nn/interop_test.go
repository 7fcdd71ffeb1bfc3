package nn_test

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/tensor"
)

// The interop files live in the module's testdata, shared with package
// safetensors's tests.
const interopDir = "../testdata/interop/"

type interopExpected struct {
	Architecture   string      `json:"architecture"`
	StateDictKeys  []string    `json:"state_dict_keys"`
	TestAccuracy   float64     `json:"test_accuracy"`
	FirstN         int         `json:"first_n"`
	Logits         [][]float64 `json:"logits_first_n"`
	PredictionsAll []int       `json:"predictions_all"`
	Images         struct {
		Shape []int  `json:"shape"`
		Data  string `json:"data"`
	} `json:"images_first_n"`
	Labels []int `json:"labels_first_n"`
}

func readExpected(t *testing.T) *interopExpected {
	t.Helper()
	b, err := os.ReadFile(interopDir + "mnist_mlp.expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e interopExpected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

// loadInteropModel builds the model from the architecture in the file's
// own metadata and loads PyTorch's weights strictly.
func loadInteropModel(t *testing.T) *nn.SequentialModule {
	t.Helper()
	m, meta, err := nn.LoadModel(interopDir+"mnist_mlp.safetensors", []int{1, 28, 28})
	if err != nil {
		t.Fatal(err)
	}
	if got := meta[nn.ArchitectureKey]; got != "flatten linear(128) relu linear(64) tanh linear(10)" {
		t.Fatalf("architecture metadata %q", got)
	}
	nn.Eval(m)
	return m
}

func argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}

// TestPyTorchInterop: the MLP PyTorch trained gives PyTorch's logits
// (tolerance of ../shared/golden/FORMAT.md) and predictions on the 256
// test images the expected file carries.
func TestPyTorchInterop(t *testing.T) {
	e := readExpected(t)
	m := loadInteropModel(t)
	if spec := m.Spec(); spec != e.Architecture {
		t.Errorf("canonical spec %q, file's %q", spec, e.Architecture)
	}
	var keys []string
	for _, s := range nn.NamedState(m) {
		keys = append(keys, s.Name)
	}
	if !slices.Equal(keys, e.StateDictKeys) {
		t.Errorf("state_dict keys %v, PyTorch's %v", keys, e.StateDictKeys)
	}
	pix, err := base64.StdEncoding.DecodeString(e.Images.Data)
	if err != nil {
		t.Fatal(err)
	}
	n := e.FirstN
	if !slices.Equal(e.Images.Shape, []int{n, 1, 28, 28}) || len(pix) != n*784 || len(e.Logits) != n || len(e.Labels) != n {
		t.Fatalf("expected file: %d pixels, %d logit rows, %d labels for %d images", len(pix), len(e.Logits), len(e.Labels), n)
	}
	x := tensor.FromFunc(func(i int) float32 { return float32(pix[i]) / 255 }, n, 1, 28, 28)
	y := m.Forward(ag.NoGraph(x))
	if !slices.Equal(y.Shape(), []int{n, 10}) {
		t.Fatalf("output shape %v", y.Shape())
	}
	got := y.Data.Data()
	worst, bad := 0.0, 0
	correct := 0
	for i := range n {
		row := got[i*10 : (i+1)*10]
		want := e.Logits[i]
		wantArg := 0
		for j, w := range want {
			d := math.Abs(float64(row[j]) - w)
			worst = max(worst, d)
			if d > 1e-4+1e-3*math.Abs(w) {
				if bad++; bad <= 5 {
					t.Errorf("image %d logit %d: got %v, PyTorch %v", i, j, row[j], w)
				}
			}
			if w > want[wantArg] {
				wantArg = j
			}
		}
		if p := argmax(row); p != wantArg {
			t.Errorf("image %d: predicted %d, PyTorch %d", i, p, wantArg)
		}
		if wantArg == e.Labels[i] {
			correct++
		}
	}
	t.Logf("max |Δlogit| %.2g over %d images; PyTorch's predictions right on %d/%d", worst, n, correct, n)
}

// TestPyTorchInteropAllTestImages compares predictions on all 10,000 MNIST
// test images; it needs MNIST in the data cache and skips otherwise.
func TestPyTorchInteropAllTestImages(t *testing.T) {
	if testing.Short() || !data.MNISTAvailable() {
		t.Skip("MNIST is not in the data cache (fetch it with the data package to run this test)")
	}
	e := readExpected(t)
	m := loadInteropModel(t)
	_, test, err := data.MNIST()
	if err != nil {
		t.Fatal(err)
	}
	if test.Len() != len(e.PredictionsAll) {
		t.Fatalf("%d test images, %d predictions", test.Len(), len(e.PredictionsAll))
	}
	const batch = 500
	diff, correct := 0, 0
	for start := 0; start < test.Len(); start += batch {
		nb := min(batch, test.Len()-start)
		x := tensor.Zeros(nb, 1, 28, 28)
		labels := make([]int, nb)
		for i := range nb {
			if labels[i], err = test.Sample(start+i, nil, x.Data()[i*784:(i+1)*784], nil); err != nil {
				t.Fatal(err)
			}
		}
		y := m.Forward(ag.NoGraph(x))
		for i := range nb {
			p := argmax(y.Data.Data()[i*10 : (i+1)*10])
			if p != e.PredictionsAll[start+i] {
				if diff++; diff <= 5 {
					t.Errorf("test image %d: predicted %d, PyTorch %d", start+i, p, e.PredictionsAll[start+i])
				}
			}
			if p == labels[i] {
				correct++
			}
		}
	}
	acc := float64(correct) / float64(test.Len())
	t.Logf("accuracy %.4f (PyTorch %.4f), %d predictions differ", acc, e.TestAccuracy, diff)
	if math.Abs(acc-e.TestAccuracy) > 1e-4 {
		t.Errorf("accuracy %.4f, PyTorch %.4f", acc, e.TestAccuracy)
	}
}
