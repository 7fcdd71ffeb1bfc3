//go:build amd64 && !noasm

package gemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run ./asm/gen.go

// avx512Kernel uses a 14×32 tile: 28 zmm accumulators, two zmm for the B
// row and two for broadcasts of A, all 32 registers. Column edges are
// handled in the kernel with write masks, row edges by a kernel variant per
// row count, so no FMA is wasted on padding and no temporary tile is needed.
var avx512Kernel = &kernel{
	name: "avx512",
	mr:   14, nr: 32,
	mc: 14 * 24, kc: 256, nc: 4096,
	tile:     tile512,
	scatter:  scatter512,
	packAT14: packAT14Fast,
	row:      row512,
	dot:      dot512, dotR: 4, dotC: 6,
	tileT: tileT512,
}

// avx2Kernel uses a 6×16 tile: 12 ymm accumulators, two for the B row and
// one for the broadcast of A. Its blocking is tuned on an AMD EPYC (Zen,
// 512 KiB L2 per core): kc = 512 keeps a k of up to 512 in one slice (no
// second pass over C for the conv-shaped k = 288) with a 144×512 A block
// (288 KiB) in L2 and 2048-column B blocks (4 MiB) in L3: 3-10% more
// GFLOP/s than 144/256/4096 at 512³-2048³ and on 12544×288·64
// (GEMM_BLOCKS sweep of TestTune, CPU time). Its dot kernels (A·Bᵀ with
// at most 4 rows of A, e.g. batch-1 inference) take tiles of up to 4×2:
// the 16 ymm registers hold 8 accumulators, the A rows, a B row and the
// tail mask.
var avx2Kernel = &kernel{
	name: "avx2",
	mr:   6, nr: 16,
	mc: 6 * 24, kc: 512, nc: 2048,
	l2Sets: 1024, l2Ways: 8, // 512 KiB
	tile:    tile256,
	scatter: scatter256,
	dot:     dot256, dotR: 4, dotC: 2,
	tileT: tileT256, tileTT: true,
	packAT: packAT6,
}

func init() {
	var l []*kernel
	if cpu.X86.HasAVX512F {
		l = append(l, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		l = append(l, avx2Kernel)
	}
	kernelList = append(l, kernelList...)
	active = kernelList[0]
}

func tile512(kc int, a, b []float32, bstride int, c []float32, ldc, rows, cols int, alpha, beta float32) {
	nv := 1
	mask := uint32(1)<<cols - 1
	if cols > 16 {
		nv = 2
	}
	_ = a[14*kc-1]
	kern512[rows-1][nv-1](kc, &a[0], &b[0], bstride, &c[0], ldc, alpha, beta, mask)
}

func tileT512(kc int, a, b []float32, ldb int, c []float32, ldc, rows, lanes int, alpha, beta float32) {
	nv := 1
	if lanes > 16 {
		nv = 2
	}
	_ = a[(kc-1)*32+16*nv-1]
	_ = b[(rows-1)*ldb+kc-1]
	_ = c[(lanes-1)*ldc+rows-1]
	kernT512[rows-1][nv-1](kc, &a[0], &b[0], ldb, &c[0], ldc, alpha, beta, lanes)
}

func tile256(kc int, a, b []float32, bstride int, c []float32, ldc, rows, cols int, alpha, beta float32) {
	_ = a[6*kc-1]
	if cols == 16 {
		kern256[rows-1](kc, &a[0], &b[0], bstride, &c[0], ldc, alpha, beta)
		return
	}
	// A partial-width tile goes through a temporary so that the kernel's
	// full-width stores never touch C outside the window.
	var t [6][16]float32
	kern256[rows-1](kc, &a[0], &b[0], bstride, (*float32)(unsafe.Pointer(&t[0][0])), 16, 1, 0)
	storeTile(t[:rows], c, ldc, cols, alpha, beta)
}

// scatter512 transposes 16×16 blocks with AVX-512 shuffles, 16 rows of src
// at a time; rows past the end are clamped to the last row and masked out
// of the stores, so nothing outside the block is read or written.
func scatter512(dst []float32, ldd int, src []float32, off, lds, rows, kc int) int {
	n := kc / 16
	if n == 0 || rows == 0 {
		return 0
	}
	for i0 := 0; i0 < rows; i0 += 16 {
		r := min(16, rows-i0)
		_ = src[off+(i0+r-1)*lds+16*n-1]
		_ = dst[(16*n-1)*ldd+i0+r-1]
		var ptrs [16]*float32
		for i := range ptrs {
			ptrs[i] = &src[off+(i0+min(i, r-1))*lds]
		}
		transpose16(&ptrs, n, &dst[i0], ldd, uint32(1)<<r-1)
	}
	return 16 * n
}

func dot512(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc, rows, cols int, alpha, beta float32) {
	_ = a[(rows-1)*lda+k-1]
	_ = b[(cols-1)*ldb+k-1]
	_ = c[(rows-1)*ldc+cols-1]
	kernDot[rows-1][cols-1](k, &a[0], lda, &b[0], ldb, &c[0], ldc, alpha, beta, uint32(1)<<(k%16)-1)
}

// dotMask256 holds the VMASKMOVPS masks of dot256's k tail: the 8 int32
// from &dotMask256[8-t] have their first t lanes set.
var dotMask256 = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

func dot256(k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc, rows, cols int, alpha, beta float32) {
	_ = a[(rows-1)*lda+k-1]
	_ = b[(cols-1)*ldb+k-1]
	_ = c[(rows-1)*ldc+cols-1]
	kernDot256[rows-1][cols-1](k, &a[0], lda, &b[0], ldb, &c[0], ldc, alpha, beta, &dotMask256[8-k%8])
}

// packAT14Fast is packAT14 in assembly, the tail rows included (mc need
// not be a multiple of 14).
func packAT14Fast(dst, a []float32, lda, i0, mc, p0, kc int) {
	if kc == 0 || mc == 0 {
		return
	}
	_ = a[(p0+kc-1)*lda+i0+mc-1]
	_ = dst[(mc-1)/14*14*kc+(kc-1)*14+(mc-1)%14]
	packAT14asm(&dst[0], &a[p0*lda+i0], lda, mc/14, mc%14, kc)
}

func row512(kc int, a, b []float32, bstride int, c []float32, alpha, beta float32) {
	_ = a[14*(kc-1)]
	_ = b[(kc-1)*bstride+127]
	_ = c[127]
	k512row(kc, &a[0], &b[0], bstride, &c[0], alpha, beta)
}
