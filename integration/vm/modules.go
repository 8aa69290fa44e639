package vm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// moduleFile is a kernel module ready for the initramfs: decompressed on the host, because only newer
// kernels decompress in finit_module (Debian's 6.1 ships plain .ko, its 6.12 ships .ko.xz).
type moduleFile struct {
	name  string
	host  string
	guest string
}

// moduleSet resolves module names against one kernel's modules directory.
type moduleSet struct {
	ctx     context.Context
	k       Kernel
	workdir string
	paths   map[string]string // normalized name → file in ModulesDir
	builtin map[string]bool
	done    map[string]bool
	files   []moduleFile
}

// prepareModules returns the named modules and everything they depend on, in load order, decompressed
// into workdir. A module built into the kernel needs nothing and is left out.
func prepareModules(ctx context.Context, k Kernel, names []string, workdir string) ([]moduleFile, error) {
	if len(names) == 0 {
		return nil, nil
	}
	paths, builtin, err := indexModules(k.ModulesDir)
	if err != nil {
		return nil, err
	}
	s := &moduleSet{ctx: ctx, k: k, workdir: workdir, paths: paths, builtin: builtin, done: map[string]bool{}}
	for _, n := range names {
		if err := s.add(normalizeModule(n)); err != nil {
			return nil, err
		}
	}
	return s.files, nil
}

func (s *moduleSet) add(name string) error {
	if s.done[name] || s.builtin[name] {
		return nil
	}
	s.done[name] = true
	src, ok := s.paths[name]
	if !ok {
		return fmt.Errorf("finding module %s: not in %s", name, s.k.ModulesDir)
	}
	host := filepath.Join(s.workdir, name+".ko")
	if err := decompressModule(s.ctx, src, host); err != nil {
		return err
	}
	deps, err := moduleDepends(host)
	if err != nil {
		return err
	}
	for _, d := range deps {
		if err := s.add(normalizeModule(d)); err != nil {
			return err
		}
	}
	s.files = append(s.files, moduleFile{name: name, host: host, guest: "/lib/modules/" + s.k.Release + "/" + name + ".ko"})
	return nil
}

// normalizeModule makes "nf-conntrack", "nf_conntrack" and "nf_conntrack.ko.xz" the same name.
func normalizeModule(name string) string {
	name = filepath.Base(name)
	if i := strings.Index(name, ".ko"); i >= 0 {
		name = name[:i]
	}
	return strings.ReplaceAll(name, "-", "_")
}

// indexModules lists the module files below dir and the modules built in (modules.builtin).
func indexModules(dir string) (map[string]string, map[string]bool, error) {
	paths := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".ko") {
			paths[normalizeModule(d.Name())] = p
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing modules in %s: %w", dir, err)
	}
	builtin := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for line := range strings.Lines(string(b)) {
			builtin[normalizeModule(strings.TrimSpace(line))] = true
		}
	}
	return paths, builtin, nil
}

// decompressModule writes the plain ELF of a module file (.ko, .ko.xz, .ko.zst, .ko.gz) to dst.
func decompressModule(ctx context.Context, src, dst string) error {
	var data []byte
	var err error
	switch {
	case strings.HasSuffix(src, ".ko"):
		data, err = os.ReadFile(src)
	case strings.HasSuffix(src, ".xz"):
		data, err = exec.CommandContext(ctx, "xz", "-dc", src).Output()
	case strings.HasSuffix(src, ".zst"):
		data, err = exec.CommandContext(ctx, "zstd", "-dcq", src).Output()
	case strings.HasSuffix(src, ".gz"):
		data, err = gunzipFile(src)
	default:
		err = errors.New("unknown compression")
	}
	if err != nil {
		return fmt.Errorf("decompressing module %s: %w", src, err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		return fmt.Errorf("writing module: %w", err)
	}
	return nil
}

func gunzipFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// moduleDepends reads the "depends=" entry of a module's .modinfo section. Debian's packages carry no
// modules.dep (depmod runs at install), so this is where the dependencies are.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("reading .modinfo of %s: %w", path, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if deps, ok := bytes.CutPrefix(kv, []byte("depends=")); ok && len(deps) > 0 {
			return strings.Split(string(deps), ","), nil
		}
	}
	return nil, nil
}
