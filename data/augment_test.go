package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func ramp(c, h, w int) []float32 {
	x := make([]float32, c*h*w)
	for i := range x {
		x[i] = float32(i%(h*w)) / float32(h*w)
	}
	return x
}

func TestAugmentOps(t *testing.T) {
	const c, h, w = 3, 5, 7
	x0 := ramp(c, h, w)

	x := slices.Clone(x0)
	flipH(x, c, h, w)
	if x[0] != x0[w-1] {
		t.Fatal("flip did not mirror")
	}
	flipH(x, c, h, w)
	if !slices.Equal(x, x0) {
		t.Fatal("two flips are not the identity")
	}

	x = slices.Clone(x0)
	rotate(x, c, h, w, 0)
	for i := range x {
		if math.Abs(float64(x[i]-x0[i])) > 1e-6 {
			t.Fatal("rotation by 0 changed the image")
		}
	}

	// 180 degrees about the centre reverses each plane.
	x = slices.Clone(x0)
	rotate(x, c, h, w, 180)
	for i := range h * w {
		if math.Abs(float64(x[i]-x0[h*w-1-i])) > 1e-5 {
			t.Fatalf("rotation by 180: %v at %d, want %v", x[i], i, x0[h*w-1-i])
		}
	}

	// A crop is a shift with zero fill: every value is 0 or an original.
	for seed := range uint64(20) {
		x = slices.Clone(x0)
		randomCrop(x, c, h, w, 2, rand.New(rand.NewPCG(seed, 1)))
		for _, v := range x {
			if v != 0 && !slices.Contains(x0, v) {
				t.Fatalf("crop made a new value %v", v)
			}
		}
	}

	// Colour jitter keeps values in [0, 1].
	x = slices.Clone(x0)
	colorJitter(x, c, h*w, 1.9, 1.9, 0.1)
	for _, v := range x {
		if v < 0 || v > 1 {
			t.Fatalf("jitter gave %v", v)
		}
	}
}

func TestAugmentDeterministic(t *testing.T) {
	a := &Augment{CropPadding: 3, FlipH: true, MaxRotation: 15, Brightness: .3, Contrast: .3, Saturation: .3}
	x1, x2 := ramp(3, 9, 9), ramp(3, 9, 9)
	a.Apply(x1, []int{3, 9, 9}, SampleRNG(1, 2, 3))
	a.Apply(x2, []int{3, 9, 9}, SampleRNG(1, 2, 3))
	if !slices.Equal(x1, x2) {
		t.Fatal("same seed, different augmentation")
	}
	x3 := ramp(3, 9, 9)
	a.Apply(x3, []int{3, 9, 9}, SampleRNG(1, 2, 4))
	if slices.Equal(x1, x3) {
		t.Fatal("samples 3 and 4 got the same augmentation")
	}
	// nil rng: no change.
	x4 := ramp(3, 9, 9)
	a.Apply(x4, []int{3, 9, 9}, nil)
	if !slices.Equal(x4, ramp(3, 9, 9)) {
		t.Fatal("augmented without a generator")
	}
}

func TestTransformed(t *testing.T) {
	ds := Transformed(&toy{n: 4}, func(x []float32, shape []int, rng *rand.Rand) { x[0] = -1 })
	x := make([]float32, 3)
	ds.Sample(2, nil, x, nil)
	if x[0] != 2 {
		t.Fatal("transform applied without a generator")
	}
	ds.Sample(2, SampleRNG(0, 0, 2), x, nil)
	if x[0] != -1 {
		t.Fatal("transform not applied")
	}
}
