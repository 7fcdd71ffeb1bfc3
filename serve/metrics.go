package serve

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"
)

// latencyBuckets are the upper bounds, in seconds, of the request latency
// histogram.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// histogram is a Prometheus histogram: cumulative counts are worked out
// when it is written.
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, the last for +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v: le is inclusive
	h.counts[i]++
	h.sum += v
	h.n++
}

// write prints the histogram's lines for one label set (labels is
// `endpoint="/v1/predict",` or "").
func (h *histogram) write(w io.Writer, name, labels string) {
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{%sle=\"%s\"} %d\n", name, labels, strconv.FormatFloat(b, 'g', -1, 64), cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(w, "%s_bucket{%sle=\"+Inf\"} %d\n", name, labels, cum)
	l := ""
	if labels != "" {
		l = "{" + labels[:len(labels)-1] + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %s\n%s_count%s %d\n", name, l, strconv.FormatFloat(h.sum, 'g', -1, 64), name, l, h.n)
}

// metrics holds the counters GET /metrics writes in the Prometheus text
// format (version 0.0.4), by hand: a few counters and histograms do not
// need the client library. The label values come from a fixed set (the
// endpoints, status codes and error reasons of this package), so the
// number of series is bounded whatever the requests.
type metrics struct {
	mu        sync.Mutex
	requests  map[[2]string]uint64 // endpoint, status code
	errors    map[[2]string]uint64 // endpoint, reason
	latency   map[string]*histogram
	batches   *histogram
	inferTime *histogram
	inputs    uint64
	inFlight  int64
}

func newMetrics(maxBatch int) *metrics {
	var bounds []float64
	for b := 1; b < maxBatch; b *= 2 {
		bounds = append(bounds, float64(b))
	}
	bounds = append(bounds, float64(maxBatch))
	return &metrics{
		requests:  map[[2]string]uint64{},
		errors:    map[[2]string]uint64{},
		latency:   map[string]*histogram{},
		batches:   newHistogram(bounds),
		inferTime: newHistogram(latencyBuckets),
	}
}

func (m *metrics) start() {
	m.mu.Lock()
	m.inFlight++
	m.mu.Unlock()
}

// done records a finished request.
func (m *metrics) done(endpoint string, status int, reason string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inFlight--
	m.requests[[2]string{endpoint, strconv.Itoa(status)}]++
	if status >= 400 {
		m.errors[[2]string{endpoint, reason}]++
	}
	h := m.latency[endpoint]
	if h == nil {
		h = newHistogram(latencyBuckets)
		m.latency[endpoint] = h
	}
	h.observe(d.Seconds())
}

// batch records one forward pass of n inputs.
func (m *metrics) batch(n int, d time.Duration) {
	m.mu.Lock()
	m.batches.observe(float64(n))
	m.inferTime.observe(d.Seconds())
	m.inputs += uint64(n)
	m.mu.Unlock()
}

// write prints every metric, in a stable order.
func (m *metrics) write(w io.Writer, queued int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP backprop_serve_requests_total HTTP requests answered, by endpoint and status code.")
	fmt.Fprintln(w, "# TYPE backprop_serve_requests_total counter")
	for _, k := range sortedKeys(m.requests) {
		fmt.Fprintf(w, "backprop_serve_requests_total{endpoint=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	fmt.Fprintln(w, "# HELP backprop_serve_errors_total Requests answered with an error (status 400 or more), by endpoint and reason.")
	fmt.Fprintln(w, "# TYPE backprop_serve_errors_total counter")
	for _, k := range sortedKeys(m.errors) {
		fmt.Fprintf(w, "backprop_serve_errors_total{endpoint=%q,reason=%q} %d\n", k[0], k[1], m.errors[k])
	}
	fmt.Fprintln(w, "# HELP backprop_serve_request_duration_seconds Time from a request's headers to its answer, by endpoint.")
	fmt.Fprintln(w, "# TYPE backprop_serve_request_duration_seconds histogram")
	eps := make([]string, 0, len(m.latency))
	for e := range m.latency {
		eps = append(eps, e)
	}
	sort.Strings(eps)
	for _, e := range eps {
		m.latency[e].write(w, "backprop_serve_request_duration_seconds", fmt.Sprintf("endpoint=%q,", e))
	}
	fmt.Fprintln(w, "# HELP backprop_serve_batch_size Inputs per forward pass of the dynamic batcher.")
	fmt.Fprintln(w, "# TYPE backprop_serve_batch_size histogram")
	m.batches.write(w, "backprop_serve_batch_size", "")
	fmt.Fprintln(w, "# HELP backprop_serve_inference_seconds Time of one forward pass of a batch.")
	fmt.Fprintln(w, "# TYPE backprop_serve_inference_seconds histogram")
	m.inferTime.write(w, "backprop_serve_inference_seconds", "")
	fmt.Fprintln(w, "# HELP backprop_serve_inputs_total Inputs run through the model.")
	fmt.Fprintln(w, "# TYPE backprop_serve_inputs_total counter")
	fmt.Fprintf(w, "backprop_serve_inputs_total %d\n", m.inputs)
	fmt.Fprintln(w, "# HELP backprop_serve_in_flight_requests Requests being answered now.")
	fmt.Fprintln(w, "# TYPE backprop_serve_in_flight_requests gauge")
	fmt.Fprintf(w, "backprop_serve_in_flight_requests %d\n", m.inFlight)
	fmt.Fprintln(w, "# HELP backprop_serve_queued_jobs Jobs waiting for the batcher.")
	fmt.Fprintln(w, "# TYPE backprop_serve_queued_jobs gauge")
	fmt.Fprintf(w, "backprop_serve_queued_jobs %d\n", queued)
}

func sortedKeys(m map[[2]string]uint64) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	return keys
}
