// Package dashboard lets a person watch backpropagation work, in a web
// browser, served by the backprop binary itself.
//
// It has two pages:
//
//   - The training dashboard (/) follows a run of [train.Fit]: training and
//     validation loss and accuracy, learning rate and throughput, per-layer
//     gradient and weight norms with vanishing or exploding gradients
//     flagged, weight and gradient histograms, the architecture as a
//     diagram, the confusion matrix and a grid of evaluation samples with
//     their predicted and true labels, the wrong ones first. A [Recorder] is
//     the [train.Callback] that collects these figures; [Start] joins a
//     Recorder to a [Server] for a live run, and [Load] reads what a
//     finished run saved in its output directory (dashboard.json) so that
//     the page can be reopened later.
//   - The playground (/playground) is a small network learning a 2-D toy
//     data set, in the spirit of TensorFlow Playground, except that the
//     network runs on backprop's own engine on the server (see package
//     [backprop/dashboard/playground]) and the browser only draws. A step
//     mode walks one training step through its four stages.
//
// The page updates live through server-sent events; GET /api/metrics
// returns the whole history as JSON. The server only reads: it serves its
// embedded assets (the front end works offline, with the uPlot charting
// library vendored under web/vendor with its licence) and the run's
// figures, which it holds in memory; it never opens a file named by a
// request, and any other path is answered 404.
//
// Cost: the Recorder's OnStep appends a few numbers under a mutex and,
// every few steps, walks the parameters once for their norms; histograms
// and the evaluation subset (confusion matrix, image grid) are computed a
// few times per epoch at most. BENCHMARKS.md records the measured overhead
// (BenchmarkFitDashboard).
package dashboard
