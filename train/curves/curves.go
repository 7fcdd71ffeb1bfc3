// Package curves draws a training run's loss and accuracy curves as a PNG
// (curves.png). It lives apart from package train so that a program that
// trains does not link the plotting library (gonum/plot with its fonts,
// LaTeX and PDF writers): train.Fit draws curves only through its
// Config.Curves hook, which the backprop command sets to [Save].
//
//	cfg := train.Config{OutDir: dir, Curves: curves.Save, ...}
package curves

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/backprop-go/backprop/internal/fsutil"
	"github.com/backprop-go/backprop/train"
)

// maxLinearValue is the largest magnitude plotted on a linear axis; a
// curve beyond it (a diverged run's loss of 1e38, say) is drawn on a
// symmetric log scale instead. gonum/plot cannot draw every range: a
// range of equal values above 2⁵³ panics ("illegal range"), one wider
// than the largest float64 makes its tick search loop forever.
const maxLinearValue = 1e9

// Plot draws the loss and accuracy curves of h side by side as a PNG.
// Values that are not finite are left out; a curve that reaches
// magnitudes over 1e9 is drawn on a log scale. A failure of the plotting
// library is returned as an error, never a panic: the curves must not take
// a run down.
func Plot(h train.History, w io.Writer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing curves: the plotting library failed: %v", r)
		}
	}()
	return plotCurves(h, w)
}

// curve is one named series of a plot.
type curve struct {
	name string
	xy   plotter.XYs
}

// series returns the points of h that f selects, leaving out those whose
// epoch or value is not finite.
func series(h train.History, f func(e train.EpochStats) (float64, bool)) plotter.XYs {
	var xy plotter.XYs
	for _, e := range h {
		v, ok := f(e)
		if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			xy = append(xy, plotter.XY{X: float64(e.Epoch), Y: v})
		}
	}
	return xy
}

// symlog is sign(v)·log10(1+|v|): a log scale that keeps zero and the sign,
// and maps every float64 into [-309, 309].
func symlog(v float64) float64 {
	return math.Copysign(math.Log10(1+math.Abs(v)), v)
}

// span returns the smallest and largest coordinate that get picks from
// the curves' points (+Inf and -Inf when there are none).
func span(curves []curve, get func(plotter.XY) float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		for _, p := range c.xy {
			lo, hi = min(lo, get(p)), max(hi, get(p))
		}
	}
	return lo, hi
}

// fixRange sets an axis's range explicitly when its data has none to
// speak of (one value, or values equal to float64 precision), which
// gonum/plot's own padding of ±1 cannot widen for large magnitudes.
func fixRange(a *plot.Axis, lo, hi float64) {
	if lo > hi {
		return // no points
	}
	if hi-lo > 1e-9*max(math.Abs(lo), math.Abs(hi), 1) {
		return
	}
	pad := max(math.Abs(lo)*0.05, 0.5)
	a.Min, a.Max = lo-pad, hi+pad
}

// addCurves puts the curves on p, on a symmetric log scale when one of
// them goes beyond maxLinearValue, and makes the axis ranges drawable.
func addCurves(p *plot.Plot, what string, curves []curve) error {
	ylo, yhi := span(curves, func(q plotter.XY) float64 { return q.Y })
	if max(math.Abs(ylo), math.Abs(yhi)) > maxLinearValue {
		for _, c := range curves {
			for i := range c.xy {
				c.xy[i].Y = symlog(c.xy[i].Y)
			}
		}
		peak := yhi
		if math.Abs(ylo) > math.Abs(yhi) {
			peak = ylo
		}
		p.Y.Label.Text = fmt.Sprintf("sign · log10(1 + |%s|)", what)
		p.Title.Text += fmt.Sprintf(" (log scale: it reached %.3g)", peak)
		ylo, yhi = symlog(ylo), symlog(yhi)
	}
	fixRange(&p.Y, ylo, yhi)
	xlo, xhi := span(curves, func(q plotter.XY) float64 { return q.X })
	fixRange(&p.X, xlo, xhi)
	for i, c := range curves {
		if len(c.xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(c.xy)
		if err != nil {
			return err
		}
		l.Color, pts.Color = plotColor(i), plotColor(i)
		p.Add(l, pts)
		p.Legend.Add(c.name, l, pts)
	}
	return nil
}

func plotCurves(h train.History, w io.Writer) error {
	loss := plot.New()
	loss.Title.Text = "Loss"
	loss.X.Label.Text = "epoch"
	acc := plot.New()
	acc.Title.Text = "Accuracy"
	acc.X.Label.Text = "epoch"
	if err := addCurves(loss, "loss", []curve{
		{"train", series(h, func(e train.EpochStats) (float64, bool) { return e.TrainLoss, true })},
		{"validation", series(h, func(e train.EpochStats) (float64, bool) { return e.ValLoss, e.HasVal })},
	}); err != nil {
		return err
	}
	if err := addCurves(acc, "accuracy", []curve{
		{"train", series(h, func(e train.EpochStats) (float64, bool) { return e.TrainAccuracy, e.TrainAccuracy > 0 })},
		{"validation", series(h, func(e train.EpochStats) (float64, bool) { return e.ValAccuracy, e.HasVal && e.ValAccuracy > 0 })},
	}); err != nil {
		return err
	}
	loss.Legend.Top = true // loss falls, so the legend goes top right; accuracy rises, bottom right

	const width, height = 10 * vg.Inch, 4 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{loss, acc}}, tiles, dc)
	loss.Draw(canvases[0][0])
	acc.Draw(canvases[0][1])
	png := vgimg.PngCanvas{Canvas: img}
	if _, err := png.WriteTo(w); err != nil {
		return fmt.Errorf("writing curves: %w", err)
	}
	return nil
}

// Save writes Plot's PNG to path atomically: when drawing fails, the
// previous file is left as it was. Its signature is train.CurvesFunc's, so
// that it can be set as train.Config.Curves.
func Save(h train.History, path string) error {
	return fsutil.WriteFileAtomic(path, 0o644, func(w io.Writer) error { return Plot(h, w) })
}
