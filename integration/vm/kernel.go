package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Index and lock file names inside the cache directory.
const (
	indexFile = "index.json"
	lockName  = "lock"
)

// Kernel is a Debian kernel unpacked in the cache.
type Kernel struct {
	// Series is what was asked for, e.g. "6.1".
	Series string `json:"series"`
	// Package is the Debian package it came from, e.g. "linux-image-6.1.0-56-cloud-amd64-unsigned".
	Package string `json:"package"`
	// Release is the kernel's release (uname -r), e.g. "6.1.0-56-cloud-amd64".
	Release string `json:"release"`
	// Vmlinuz is the kernel image.
	Vmlinuz string `json:"vmlinuz"`
	// ModulesDir is its lib/modules/<release> directory.
	ModulesDir string `json:"modules_dir"`
	// Fetched is when the package was downloaded.
	Fetched time.Time `json:"fetched"`
}

// ErrNoKernel means apt knows no package for the series.
var ErrNoKernel = errors.New("no Debian kernel package for this series")

var seriesRE = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// EnsureKernel returns the cached kernel of a series ("6.1", "6.12"), fetching the newest matching
// linux-image-*-cloud-amd64-unsigned package with apt first if the cache has none. Once cached, a series
// keeps its kernel, without asking apt, until the cache entry is removed; Kernel.Package tells which ran.
func EnsureKernel(ctx context.Context, series string) (Kernel, error) {
	if !seriesRE.MatchString(series) {
		return Kernel{}, fmt.Errorf("ensuring kernel: series %q is not like 6.1", series)
	}
	dir, err := CacheDir()
	if err != nil {
		return Kernel{}, err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, lockName))
	if err != nil {
		return Kernel{}, err
	}
	defer unlock()
	if k, ok := cachedKernel(dir, series); ok {
		return k, nil
	}
	k, err := fetchKernel(ctx, dir, series)
	if err != nil {
		return Kernel{}, fmt.Errorf("fetching kernel %s: %w", series, err)
	}
	if err := recordKernel(dir, k); err != nil {
		return Kernel{}, err
	}
	return k, nil
}

func readIndex(dir string) map[string]Kernel {
	index := map[string]Kernel{}
	b, err := os.ReadFile(filepath.Join(dir, indexFile))
	if err != nil {
		return index
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return map[string]Kernel{} // a broken index only costs a fetch
	}
	return index
}

func cachedKernel(dir, series string) (Kernel, bool) {
	k, ok := readIndex(dir)[series]
	if !ok {
		return Kernel{}, false
	}
	if _, err := os.Stat(k.Vmlinuz); err != nil {
		return Kernel{}, false
	}
	return k, true
}

func recordKernel(dir string, k Kernel) error {
	index := readIndex(dir)
	index[k.Series] = k
	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding kernel index: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, indexFile), b)
}

func fetchKernel(ctx context.Context, dir, series string) (Kernel, error) {
	pkg, err := newestPackage(ctx, series)
	if err != nil {
		return Kernel{}, err
	}
	final, err := fetchPackage(ctx, dir, pkg, nil)
	if err != nil {
		return Kernel{}, err
	}
	return describeKernel(series, pkg, final)
}

// fetchPackage downloads Debian package pkg, unpacks it, checks the unpacked tree with check (when set)
// and moves it into the cache directory dir as dir/pkg, which it returns. The caller holds the lock.
func fetchPackage(ctx context.Context, dir, pkg string, check func(root string) error) (string, error) {
	removeAbandoned(dir)
	tmp, err := os.MkdirTemp(dir, ".fetch-*")
	if err != nil {
		return "", fmt.Errorf("creating download directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "root")
	if err := downloadAndUnpack(ctx, tmp, pkg, root); err != nil {
		return "", err
	}
	if check != nil {
		if err := check(root); err != nil {
			return "", err
		}
	}
	final := filepath.Join(dir, pkg)
	if err := os.RemoveAll(final); err != nil {
		return "", fmt.Errorf("clearing %s: %w", final, err)
	}
	if err := os.Rename(root, final); err != nil {
		return "", fmt.Errorf("moving %s into the cache: %w", pkg, err)
	}
	return final, nil
}

// removeAbandoned deletes download directories of fetches that were killed; the caller holds the lock,
// so no fetch is running.
func removeAbandoned(dir string) {
	old, _ := filepath.Glob(filepath.Join(dir, ".fetch-*"))
	for _, d := range old {
		os.RemoveAll(d)
	}
}

func downloadAndUnpack(ctx context.Context, tmp, pkg, root string) error {
	download := func() error {
		_, err := command(ctx, tmp, "apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", pkg)
		return err
	}
	if err := retry(ctx, "downloading "+pkg+" with apt-get", download); err != nil {
		return err
	}
	debs, err := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if err != nil || len(debs) != 1 {
		return fmt.Errorf("finding the downloaded %s: %d files, %v", pkg, len(debs), err)
	}
	if _, err := command(ctx, tmp, "dpkg", "-x", debs[0], root); err != nil {
		return err
	}
	return nil
}

// describeKernel finds the image and the modules of an unpacked kernel package.
func describeKernel(series, pkg, root string) (Kernel, error) {
	images, err := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if err != nil || len(images) != 1 {
		return Kernel{}, fmt.Errorf("finding vmlinuz in %s: %d files, %v", pkg, len(images), err)
	}
	release := strings.TrimPrefix(filepath.Base(images[0]), "vmlinuz-")
	return Kernel{
		Series:     series,
		Package:    pkg,
		Release:    release,
		Vmlinuz:    images[0],
		ModulesDir: filepath.Join(root, "lib", "modules", release),
		Fetched:    time.Now().UTC(),
	}, nil
}

// newestPackage asks apt for the series' cloud kernels, updating the package lists once if it knows none.
func newestPackage(ctx context.Context, series string) (string, error) {
	names, err := searchPackages(ctx, series)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		update := func() error { _, err := command(ctx, "", "apt-get", "update", "-q"); return err }
		if err := retry(ctx, "updating apt's package lists", update); err != nil {
			return "", err
		}
		if names, err = searchPackages(ctx, series); err != nil {
			return "", err
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("searching apt for %s: %w", series, ErrNoKernel)
	}
	return newest(names), nil
}

func packagePattern(series string) string {
	return `^linux-image-` + regexp.QuoteMeta(series) + `\.[0-9][^ ]*-cloud-amd64-unsigned$`
}

func searchPackages(ctx context.Context, series string) ([]string, error) {
	pattern := packagePattern(series)
	out, err := command(ctx, "", "apt-cache", "search", "--names-only", pattern)
	if err != nil {
		return nil, err
	}
	return matchPackages(out, regexp.MustCompile(pattern)), nil
}

// matchPackages picks the names matching re from apt-cache search output ("name - description").
func matchPackages(out string, re *regexp.Regexp) []string {
	var names []string
	for line := range strings.Lines(out) {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if re.MatchString(name) {
			names = append(names, name)
		}
	}
	return names
}

// command runs a program and returns its stdout; the error carries its stderr.
func command(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("running %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Attempts of retry: a download from Debian's mirrors gets fetchAttempts tries, fetchBackoff apart and
// doubling, so that a mirror's passing refusal does not fail a cold-cache run.
const (
	fetchAttempts = 4
	fetchBackoff  = 5 * time.Second
)

// retry runs op until it succeeds, fetchAttempts times at most; the error says what was being done,
// how often it was tried and what the last try said.
func retry(ctx context.Context, what string, op func() error) error {
	wait := fetchBackoff
	var err error
	for attempt := 1; attempt <= fetchAttempts; attempt++ {
		if err = op(); err == nil {
			return nil
		}
		if attempt == fetchAttempts {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (stopped after %d tries: %w)", what, err, attempt, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	return fmt.Errorf("%s failed %d times; is Debian's package mirror reachable? last error: %w", what, fetchAttempts, err)
}
