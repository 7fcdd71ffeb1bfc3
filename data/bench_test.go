package data

import (
	"fmt"
	"image/color"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// The training steps the loader must keep up with, from
// shared/bench/README.md (PyTorch on this kind of machine): a W-MLP epoch of
// 60,000 MNIST images takes 0.50 s (120,000 samples/s); a W-CNN epoch 9.0 s
// (6,700 samples/s).
const (
	mlpSamplesPerSecond = 60000 / 0.50
	cnnSamplesPerSecond = 60000 / 9.0
)

// mnistForBench returns MNIST's training set when it is in the cache,
// otherwise a synthetic set of the same shape and size (the decoding work
// is the same).
func mnistForBench(b *testing.B) Dataset {
	if Available("mnist") {
		train, _, err := MNIST(Log(io.Discard))
		if err == nil {
			return train
		}
	}
	b.Log("MNIST not in the cache: synthetic 60000×28×28 images")
	rng := rand.New(rand.NewPCG(1, 2))
	img := &IDX{Type: IDXUint8, Dims: []int{60000, 28, 28}, Data: make([]byte, 60000*784)}
	for i := range img.Data {
		img.Data[i] = byte(rng.Uint32())
	}
	lab := &IDX{Type: IDXUint8, Dims: []int{60000}, Data: make([]byte, 60000)}
	for i := range lab.Data {
		lab.Data[i] = byte(i % 10)
	}
	ds, err := NewIDXDataset(img, lab, MNISTClasses)
	if err != nil {
		b.Fatal(err)
	}
	return ds
}

// BenchmarkLoaderMNIST measures decoded and batched MNIST samples per
// second (batch 64, shuffled), one epoch per iteration.
func BenchmarkLoaderMNIST(b *testing.B) {
	ds := mnistForBench(b)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			l, err := NewLoader(ds, LoaderConfig{BatchSize: 64, Shuffle: true, Seed: 1, Workers: workers})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := time.Now()
			for i := range b.N {
				for _, err := range l.Epoch(i) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			perSec := float64(b.N*ds.Len()) / time.Since(start).Seconds()
			b.ReportMetric(perSec, "samples/s")
			b.ReportMetric(perSec/mlpSamplesPerSecond, "x_W-MLP_step")
		})
	}
}

// BenchmarkLoaderImageFolder measures images per second decoded from JPEG
// and PNG files (mixed sizes around 160×120), resized to 64×64 RGB,
// augmented (crop with padding, flip, rotation, colour jitter), normalised
// and batched.
func BenchmarkLoaderImageFolder(b *testing.B) {
	root := b.TempDir()
	for i := range 64 {
		ext := ".jpg"
		if i%4 == 0 {
			ext = ".png"
		}
		w, h := 150+i%20, 110+i%15
		writeImage(b, filepath.Join(root, []string{"cat", "dog"}[i%2], fmt.Sprintf("%03d%s", i, ext)), w, h, false,
			func(x, y int) color.RGBA { return color.RGBA{byte(x * 3), byte(y * 5), byte(x ^ y), 255} })
	}
	aug := &Augment{CropPadding: 4, FlipH: true, MaxRotation: 10, Brightness: 0.2, Contrast: 0.2, Saturation: 0.2}
	d, err := ImageFolder(root, ImageConfig{Height: 64, Width: 64, Augment: aug, ComputeNorm: true, Split: SplitConfig{TestFraction: -1}})
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			l, _ := NewLoader(d.Train, LoaderConfig{BatchSize: 32, Shuffle: true, Workers: workers})
			start := time.Now()
			for i := range b.N {
				for _, err := range l.Epoch(i) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			perSec := float64(b.N*d.Train.Len()) / time.Since(start).Seconds()
			b.ReportMetric(perSec, "images/s")
			b.ReportMetric(perSec/cnnSamplesPerSecond, "x_W-CNN_step")
		})
	}
}

// BenchmarkMNISTLoadCached measures Load("mnist") from the cache: reading
// and checking 55 MB.
func BenchmarkMNISTLoadCached(b *testing.B) {
	if !Available("mnist") {
		b.Skip("MNIST is not in the cache")
	}
	for range b.N {
		if _, _, err := MNIST(Log(io.Discard)); err != nil {
			b.Fatal(err)
		}
	}
}
