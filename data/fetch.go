package data

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// CacheEnv is the environment variable that overrides the default cache
// directory.
const CacheEnv = "BACKPROP_CACHE"

// DefaultCacheDir returns the directory where fetched data sets are kept:
// $BACKPROP_CACHE when set, otherwise the "backprop" folder of the user's
// cache directory (os.UserCacheDir, for example ~/.cache/backprop on Linux).
func DefaultCacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("data: no cache directory (set %s): %w", CacheEnv, err)
	}
	return filepath.Join(d, "backprop"), nil
}

// Option configures how a named data set is found and fetched.
type Option func(*fetchOptions)

type fetchOptions struct {
	cacheDir   string
	localDir   string
	log        io.Writer
	mirrors    []string // nil: the set's defaults
	systemDirs []string // nil: the set's defaults
	noGoModule bool
	client     *http.Client
	ctx        context.Context
	progress   ProgressFunc
}

// ProgressFunc receives the progress of a download: the file's name, the
// bytes read so far and the total (-1 when the server did not say). It is
// called from the goroutine that fetches, at most every 100 ms, and once
// more when the file has been read in full, with done == total (whether
// the size was known or not): that call marks the end of the file.
type ProgressFunc func(file string, done, total int64)

// CacheDir sets the cache directory, overriding $BACKPROP_CACHE and the
// default. Files are kept in a subfolder named for the data set.
func CacheDir(dir string) Option { return func(o *fetchOptions) { o.cacheDir = dir } }

// LocalDir names a directory that already holds the data set's files (raw or
// ".gz"); it is the first source tried.
func LocalDir(dir string) Option { return func(o *fetchOptions) { o.localDir = dir } }

// Log sets where messages about fetching (what, from where) are written;
// the default is os.Stderr. Nothing is written when every file is already
// in the cache. Progress within a download goes to [Progress].
func Log(w io.Writer) Option { return func(o *fetchOptions) { o.log = w } }

// Progress sets a function that is told how each download advances (for
// a progress bar); the default reports nothing.
func Progress(f ProgressFunc) Option { return func(o *fetchOptions) { o.progress = f } }

// Context makes fetching cancellable: when ctx is done, a download or a
// `go mod download` in progress stops and Load returns an error wrapping
// ctx.Err(). The default is context.Background().
func Context(ctx context.Context) Option { return func(o *fetchOptions) { o.ctx = ctx } }

// Mirrors replaces the data set's list of HTTPS mirrors: base URLs to which
// the file name (with ".gz") is appended.
func Mirrors(baseURLs ...string) Option {
	return func(o *fetchOptions) { o.mirrors = append([]string{}, baseURLs...) }
}

// NoGoModule turns off the Go-module source (which runs `go mod download`).
func NoGoModule() Option { return func(o *fetchOptions) { o.noGoModule = true } }

func makeOptions(opts []Option) (*fetchOptions, error) {
	o := &fetchOptions{log: os.Stderr}
	for _, opt := range opts {
		opt(o)
	}
	if o.cacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		o.cacheDir = d
	}
	if o.log == nil {
		o.log = io.Discard
	}
	if o.ctx == nil {
		o.ctx = context.Background()
	}
	if o.client == nil {
		o.client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
		}}
	}
	return o, nil
}

// remoteFile is one file of a named data set.
type remoteFile struct {
	name string // without ".gz", e.g. "train-images-idx3-ubyte"
	// sha256 is the SHA-256 of the decompressed content. The content is what
	// is verified, because the same content circulates in differently
	// compressed .gz files (Debian recompressed Fashion-MNIST).
	sha256 string
	size   int64 // decompressed size in bytes
	// gzSHA256 lists SHA-256 sums of known .gz files holding this content
	// (the canonical published file first). For reference only.
	gzSHA256 []string
}

// remoteSet is a named data set and where its files may be found.
type remoteSet struct {
	name       string
	files      []remoteFile
	systemDirs []string
	mirrors    []string
	goModule   string // module@version whose data/ holds the .gz files
}

// SourceError is one source's failure to provide a file.
type SourceError struct {
	Source string // a directory, URL or module
	Err    error
}

// Error returns "source: reason".
func (e SourceError) Error() string { return e.Source + ": " + e.Err.Error() }

// FetchError reports that no source could provide a file; it lists why each
// source failed.
type FetchError struct {
	Dataset string
	File    string
	Tries   []SourceError
}

// Error lists the sources tried, one per line, each with its failure.
func (e *FetchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "data: cannot get %s file %s from any source", e.Dataset, e.File)
	for _, t := range e.Tries {
		fmt.Fprintf(&b, "\n\t%s", t.Error())
	}
	return b.String()
}

// Unwrap returns the sources' errors.
func (e *FetchError) Unwrap() []error {
	errs := make([]error, len(e.Tries))
	for i, t := range e.Tries {
		errs[i] = t.Err
	}
	return errs
}

// ChecksumError reports content whose SHA-256 is not the known one.
type ChecksumError struct {
	File string // the file or URL read
	Want string // hex SHA-256 expected
	Got  string // hex SHA-256 found
}

// Error names the file and both sums.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: SHA-256 mismatch: got %s, want %s", e.File, e.Got, e.Want)
}

// errNotFound marks a source that simply does not have the file.
var errNotFound = errors.New("not found")

// fetcher gets the files of one set, remembering sources that failed as a
// whole (a host that cannot be reached, a module that cannot be downloaded)
// so that they are not retried for every file.
type fetcher struct {
	set      *remoteSet
	o        *fetchOptions
	dead     map[string]error // source key -> error
	modDir   string
	modTried bool
}

// fetchSet returns the verified, decompressed content of every file of set,
// from the cache or else from the first source that has it.
func fetchSet(set *remoteSet, opts []Option) ([][]byte, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	f := &fetcher{set: set, o: o, dead: map[string]error{}}
	out := make([][]byte, len(set.files))
	for i := range set.files {
		if out[i], err = f.get(&set.files[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (f *fetcher) cachePath(rf *remoteFile) string {
	return filepath.Join(f.o.cacheDir, f.set.name, rf.name)
}

func (f *fetcher) logf(format string, args ...any) {
	fmt.Fprintf(f.o.log, "%s: "+format+"\n", append([]any{f.set.name}, args...)...)
}

func (f *fetcher) get(rf *remoteFile) ([]byte, error) {
	cache := f.cachePath(rf)
	if b, err := os.ReadFile(cache); err == nil {
		err := verify(cache, b, rf)
		if err == nil {
			return b, nil
		}
		f.logf("cached %s is damaged (%v); fetching it again", cache, err)
	}
	fe := &FetchError{Dataset: f.set.name, File: rf.name}
	for _, src := range f.sources() {
		if err := f.o.ctx.Err(); err != nil {
			// Cancelled: the other sources are not tried, and the error
			// says why rather than listing them all as failed.
			return nil, fmt.Errorf("data: fetching %s file %s: %w", f.set.name, rf.name, err)
		}
		if err, ok := f.dead[src.key]; ok {
			fe.Tries = append(fe.Tries, SourceError{src.desc, fmt.Errorf("skipped, failed earlier: %w", err)})
			continue
		}
		b, err := src.get(f, rf)
		if cerr := f.o.ctx.Err(); err != nil && cerr != nil {
			return nil, fmt.Errorf("data: fetching %s file %s: %w", f.set.name, rf.name, cerr)
		}
		if err == nil {
			err = verify(src.where(rf), b, rf)
		}
		if err != nil {
			if src.fatal != nil && src.fatal(err) {
				f.dead[src.key] = err
			}
			fe.Tries = append(fe.Tries, SourceError{src.desc, err})
			if !errors.Is(err, errNotFound) {
				f.logf("%s: %v", src.desc, err)
			}
			continue
		}
		if err := writeAtomic(cache, b); err != nil {
			f.logf("cannot cache %s (%v); using it from memory", rf.name, err)
		} else {
			f.logf("%s verified (SHA-256 %s…), cached as %s", rf.name, rf.sha256[:12], cache)
		}
		return b, nil
	}
	return nil, fe
}

// verify checks the decompressed content b against rf's size and SHA-256.
func verify(where string, b []byte, rf *remoteFile) error {
	sum := sha256.Sum256(b)
	got := hex.EncodeToString(sum[:])
	if got != rf.sha256 {
		return &ChecksumError{File: where, Want: rf.sha256, Got: got}
	}
	return nil
}

// source is one place a file may come from.
type source struct {
	key   string // identifies the source for memoising failures
	desc  string // shown to the user
	where func(rf *remoteFile) string
	get   func(f *fetcher, rf *remoteFile) ([]byte, error)
	fatal func(error) bool // whether an error rules the source out for the other files
}

func (f *fetcher) sources() []source {
	var srcs []source
	if f.o.localDir != "" {
		srcs = append(srcs, dirSource("local directory", f.o.localDir))
	}
	sys := f.set.systemDirs
	if f.o.systemDirs != nil {
		sys = f.o.systemDirs
	}
	for _, d := range sys {
		srcs = append(srcs, dirSource("system directory", d))
	}
	mirrors := f.set.mirrors
	if f.o.mirrors != nil {
		mirrors = f.o.mirrors
	}
	for _, m := range mirrors {
		srcs = append(srcs, httpSource(m))
	}
	if f.set.goModule != "" && !f.o.noGoModule {
		srcs = append(srcs, source{
			key:   "go:" + f.set.goModule,
			desc:  "Go module " + f.set.goModule,
			where: func(rf *remoteFile) string { return f.set.goModule + "/data/" + rf.name + ".gz" },
			get: func(f *fetcher, rf *remoteFile) ([]byte, error) {
				dir, err := f.goModuleDir()
				if err != nil {
					return nil, err
				}
				p := filepath.Join(dir, "data", rf.name+".gz")
				f.logf("%s.gz from the Go module cache %s", rf.name, p)
				return readLocal(p, rf)
			},
			fatal: func(err error) bool { return !errors.As(err, new(*ChecksumError)) },
		})
	}
	return srcs
}

func dirSource(kind, dir string) source {
	return source{
		key:   "dir:" + dir,
		desc:  kind + " " + dir,
		where: func(rf *remoteFile) string { return filepath.Join(dir, rf.name) },
		get: func(f *fetcher, rf *remoteFile) ([]byte, error) {
			for _, name := range []string{rf.name + ".gz", rf.name} {
				p := filepath.Join(dir, name)
				if _, err := os.Stat(p); err != nil {
					continue
				}
				f.logf("%s from %s %s", name, kind, dir)
				return readLocal(p, rf)
			}
			return nil, fmt.Errorf("%w: no %s.gz or %s", errNotFound, rf.name, rf.name)
		},
	}
}

// readLocal reads a raw or gzip-compressed file and returns its
// decompressed content, refusing more than rf.size bytes.
func readLocal(path string, rf *remoteFile) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return decompress(fh, path, rf.size)
}

// decompress reads r to the end, decompressing gzip, and returns at most
// limit bytes; a longer content is an error.
func decompress(r io.Reader, name string, limit int64) ([]byte, error) {
	var head [2]byte
	n, err := io.ReadFull(r, head[:])
	if err != nil && n == 0 {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	r = io.MultiReader(bytes.NewReader(head[:n]), r)
	if isGzip(head[:n]) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		r = zr
	}
	buf := bytes.NewBuffer(make([]byte, 0, limit+1))
	if _, err := io.Copy(buf, io.LimitReader(r, limit+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("%s: content longer than the expected %d bytes", name, limit)
	}
	return buf.Bytes(), nil
}

func httpSource(base string) source {
	u, _ := url.Parse(base)
	host := base
	if u != nil && u.Host != "" {
		host = u.Host
	}
	fileURL := func(rf *remoteFile) string { return strings.TrimSuffix(base, "/") + "/" + rf.name + ".gz" }
	return source{
		key:   "http:" + host,
		desc:  fileURL(&remoteFile{name: "*"}),
		where: fileURL,
		get: func(f *fetcher, rf *remoteFile) ([]byte, error) {
			return f.download(fileURL(rf), rf)
		},
		// A host that cannot be reached at all is not tried for the other
		// files; an HTTP error status or bad content is per file.
		fatal: func(err error) bool {
			var ue *url.Error
			return errors.As(err, &ue)
		},
	}
}

func (f *fetcher) download(u string, rf *remoteFile) ([]byte, error) {
	f.logf("downloading %s", u)
	req, err := http.NewRequestWithContext(f.o.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.o.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %s", resp.Status)
	}
	body := io.Reader(resp.Body)
	if f.o.progress != nil {
		pr := &progressReader{r: body, file: rf.name + ".gz", total: resp.ContentLength, report: f.o.progress}
		b, err := decompress(pr, u, rf.size)
		if err == nil {
			pr.report(pr.file, pr.done, pr.done)
		}
		return b, err
	}
	return decompress(body, u, rf.size)
}

// progressReader reports the bytes read through it to a ProgressFunc,
// at most every 100 ms.
type progressReader struct {
	r           io.Reader
	file        string
	done, total int64
	last        time.Time
	report      ProgressFunc
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.report(p.file, p.done, p.total)
	}
	return n, err
}

// goModuleDir downloads the set's Go module through the module proxy (once
// per fetch) and returns the directory it was extracted to.
func (f *fetcher) goModuleDir() (string, error) {
	if f.modTried {
		if f.modDir == "" {
			return "", errors.New("module download failed")
		}
		return f.modDir, nil
	}
	f.modTried = true
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not installed: %w", err)
	}
	f.logf("running go mod download -json %s (through GOPROXY)", f.set.goModule)
	ctx, cancel := context.WithTimeout(f.o.ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "mod", "download", "-json", f.set.goModule)
	cmd.Dir = os.TempDir() // outside any module: no go.mod or go.sum is touched
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil && runErr == nil {
		return "", fmt.Errorf("go mod download: bad output: %v", err)
	}
	switch {
	case f.o.ctx.Err() != nil:
		f.modTried = false // a later fetch with a live context may try again
		return "", fmt.Errorf("go mod download: %w", f.o.ctx.Err())
	case info.Error != "":
		return "", fmt.Errorf("go mod download: %s", info.Error)
	case runErr != nil:
		return "", fmt.Errorf("go mod download: %v: %s", runErr, strings.TrimSpace(stderr.String()))
	case info.Dir == "":
		return "", errors.New("go mod download: no directory in its output")
	}
	f.modDir = info.Dir
	return info.Dir, nil
}

// writeAtomic writes b to path through a temporary file in the same
// directory, synced and renamed, so a crash never leaves half a file.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// cached reports whether every file of set is in the cache with the right
// size (without hashing it).
func cached(set *remoteSet, opts []Option) bool {
	o, err := makeOptions(opts)
	if err != nil {
		return false
	}
	for _, rf := range set.files {
		st, err := os.Stat(filepath.Join(o.cacheDir, set.name, rf.name))
		if err != nil || st.Size() != rf.size {
			return false
		}
	}
	return true
}
