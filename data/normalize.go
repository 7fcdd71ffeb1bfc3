package data

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Normalization holds per-channel statistics; Apply maps each value v of
// channel c to (v - Mean[c]) / Std[c]. A channel is the first dimension of
// the sample shape: the colour channel of a [C, H, W] image, or each
// feature of a [F] table row. It is what a checkpoint stores so that
// prediction preprocesses new inputs as training did.
type Normalization struct {
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
}

// Validate reports a Normalization that cannot be applied: lengths that
// differ, or a standard deviation that is not positive and finite.
func (n *Normalization) Validate() error {
	if len(n.Mean) == 0 || len(n.Mean) != len(n.Std) {
		return fmt.Errorf("data: normalisation has %d means and %d standard deviations", len(n.Mean), len(n.Std))
	}
	for c, s := range n.Std {
		if !(s > 0) || math.IsInf(float64(s), 0) || math.IsNaN(float64(n.Mean[c])) {
			return fmt.Errorf("data: normalisation of channel %d: mean %g, std %g; want a finite mean and a positive std", c, n.Mean[c], s)
		}
	}
	return nil
}

// Apply normalises x, which holds len(n.Mean) channels one after the
// other, in place. It panics when len(x) is not a multiple of the number of
// channels.
func (n *Normalization) Apply(x []float32) {
	c := len(n.Mean)
	if c == 0 || len(x)%c != 0 {
		panic(fmt.Sprintf("data: Normalization.Apply: %d values for %d channels", len(x), c))
	}
	block := len(x) / c
	for ch := range c {
		m, inv := n.Mean[ch], 1/n.Std[ch]
		p := x[ch*block : (ch+1)*block]
		for i, v := range p {
			p[i] = (v - m) * inv
		}
	}
}

// statsChunk is the number of samples summed together before the partial
// sums are combined in a fixed order: the result does not depend on the
// number of goroutines.
const statsChunk = 64

// ComputeNormalization returns the per-channel mean and (population)
// standard deviation of ds's samples, taken without augmentation. When
// maxSamples > 0 and the data set is larger, it uses maxSamples samples
// spread evenly over it. A channel whose standard deviation is 0 gets 1, so
// that it is only centred. The result is the same whatever GOMAXPROCS.
func ComputeNormalization(ds Dataset, maxSamples int) (*Normalization, error) {
	shape := ds.Shape()
	if len(shape) == 0 {
		return nil, errors.New("data: ComputeNormalization: samples have no dimensions")
	}
	n := ds.Len()
	if n == 0 {
		return nil, errors.New("data: ComputeNormalization: empty data set")
	}
	if maxSamples > 0 && maxSamples < n {
		n = maxSamples
	}
	at := func(k int) int { return int(int64(k) * int64(ds.Len()) / int64(n)) }
	channels := shape[0]
	size := Numel(shape)
	block := size / channels
	nchunks := (n + statsChunk - 1) / statsChunk
	sums := make([]float64, 2*channels*nchunks) // per chunk: sum, then sum of squares
	errs := make([]error, nchunks)
	var next sync.Mutex
	chunk := 0
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := make([]float32, size)
			t := make([]float32, ds.TargetSize())
			for {
				next.Lock()
				ck := chunk
				chunk++
				next.Unlock()
				if ck >= nchunks {
					return
				}
				s := sums[2*channels*ck : 2*channels*(ck+1)]
				for k := ck * statsChunk; k < min(n, (ck+1)*statsChunk); k++ {
					if _, err := ds.Sample(at(k), nil, x, t); err != nil {
						errs[ck] = err
						break
					}
					for c := range channels {
						var a, b float64
						for _, v := range x[c*block : (c+1)*block] {
							a += float64(v)
							b += float64(v) * float64(v)
						}
						s[c] += a
						s[channels+c] += b
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("data: ComputeNormalization: %w", err)
		}
	}
	total := make([]float64, 2*channels)
	for ck := range nchunks {
		for j := range total {
			total[j] += sums[2*channels*ck+j]
		}
	}
	norm := &Normalization{Mean: make([]float32, channels), Std: make([]float32, channels)}
	count := float64(n) * float64(block)
	for c := range channels {
		mean := total[c] / count
		v := total[channels+c]/count - mean*mean
		std := math.Sqrt(max(v, 0))
		if !(std > 1e-12) {
			std = 1
		}
		norm.Mean[c], norm.Std[c] = float32(mean), float32(std)
	}
	return norm, nil
}
