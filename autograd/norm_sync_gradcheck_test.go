package autograd_test

import (
	ag "github.com/backprop-go/backprop/autograd"
)

// SyncBatchNorm's finite-difference cases, appended to gradCases, run by
// TestGradCheck in float32 and float64: a job of one replica (its sum
// adds nothing), where the op is batch norm itself. Its split over
// several replicas is TestSyncBatchNormSplitEqualsWhole's.
func init() {
	alone := func([]float64) error { return nil }
	gradCases = append(gradCases,
		gradCase{op: "SyncBatchNorm", name: "one replica, 2-D", inputs: shapes(rn(4, 3, 2, 2), rn(3), rn(3)),
			f: func(v []*ag.Value) *ag.Value { return ag.SyncBatchNorm(v[0], v[1], v[2], nil, nil, 0.1, 1e-5, alone) }},
		gradCase{op: "SyncBatchNorm", name: "one replica, [N, C]", inputs: shapes(rn(5, 3), rn(3), rn(3)),
			f: func(v []*ag.Value) *ag.Value { return ag.SyncBatchNorm(v[0], v[1], v[2], nil, nil, 0.1, 1e-5, alone) }},
	)
}
