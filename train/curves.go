package train

import (
	"fmt"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/backprop-go/backprop/internal/fsutil"
)

// PlotCurves draws the loss and accuracy curves of h side by side as a PNG.
func PlotCurves(h History, w io.Writer) error {
	loss := plot.New()
	loss.Title.Text = "Loss"
	loss.X.Label.Text = "epoch"
	acc := plot.New()
	acc.Title.Text = "Accuracy"
	acc.X.Label.Text = "epoch"
	series := func(f func(e EpochStats) (float64, bool)) plotter.XYs {
		var xy plotter.XYs
		for _, e := range h {
			if v, ok := f(e); ok {
				xy = append(xy, plotter.XY{X: float64(e.Epoch), Y: v})
			}
		}
		return xy
	}
	add := func(p *plot.Plot, name string, xy plotter.XYs, i int) error {
		if len(xy) == 0 {
			return nil
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		l.Color, pts.Color = plotColor(i), plotColor(i)
		p.Add(l, pts)
		p.Legend.Add(name, l, pts)
		return nil
	}
	if err := add(loss, "train", series(func(e EpochStats) (float64, bool) { return e.TrainLoss, true }), 0); err != nil {
		return err
	}
	if err := add(loss, "validation", series(func(e EpochStats) (float64, bool) { return e.ValLoss, e.HasVal }), 1); err != nil {
		return err
	}
	if err := add(acc, "train", series(func(e EpochStats) (float64, bool) { return e.TrainAccuracy, e.TrainAccuracy > 0 }), 0); err != nil {
		return err
	}
	if err := add(acc, "validation", series(func(e EpochStats) (float64, bool) { return e.ValAccuracy, e.HasVal && e.ValAccuracy > 0 }), 1); err != nil {
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

// SaveCurves writes PlotCurves's PNG to path atomically.
func SaveCurves(h History, path string) error {
	return fsutil.WriteFileAtomic(path, 0o644, func(w io.Writer) error { return PlotCurves(h, w) })
}
