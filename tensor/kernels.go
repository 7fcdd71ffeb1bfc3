package tensor

import "github.com/backprop-go/backprop/internal/gemm"

// sgemm is the GEMM kernel behind Gemm: the packed, vectorised kernels of
// internal/gemm. Tests swap in referenceSgemm to check results against it.
var sgemm = gemm.Sgemm

// sgemmSerial is sgemm on the calling goroutine alone, for products that
// run one per worker of a parallel loop.
var sgemmSerial = gemm.SgemmSerial
