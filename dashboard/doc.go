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
// Limits: no client can hold the pages for others or exhaust the process.
// Each server has read, write and idle timeouts (10 s for a request's
// header, 30 s for the whole request, 60 s to answer, 60 s idle), headers
// of at most 16 KiB, and serves at most 256 connections at once (more
// wait to be accepted). At most [MaxStreams] event streams are open at
// once (more are answered 503), and a stream whose client stops reading
// is dropped after 10 s; training never waits for a stream. A playground
// request's body is read, at most 64 KiB (413 beyond), and checked before
// the engine is locked; errors are answered as {"error": "..."}. The
// confusion matrix is whole for up to [MaxDenseClasses] classes; beyond,
// the page shows the [TopClasses] most frequent true classes with an
// "other" column and the [MaxConfusedPairs] most frequent mistakes, and
// class names beyond [MaxClassNames] are sent only for the classes shown.
//
// Cost: the Recorder's OnStep appends a few numbers under a mutex and,
// every few steps, walks the parameters once for their norms; histograms
// and the evaluation subset (confusion matrix, image grid) are computed a
// few times per epoch at most. BENCHMARKS.md records the measured overhead
// (BenchmarkFitDashboard).
package dashboard
