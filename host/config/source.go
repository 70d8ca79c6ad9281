package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Document is one TOML document of a configuration. Every document has the
// same shape as a whole config file ([basic], [servers.x], ...); a
// configuration made of several documents is their union.
type Document struct {
	// Name identifies the document in errors: a file path, an etcd key.
	Name string
	// Data is the TOML text.
	Data []byte
}

// Source reads the documents that make up a configuration. A file, a
// directory and (later) an etcd prefix are sources. Documents returns them in
// a stable order; the order does not change the result, since an item may
// be defined by one document only.
type Source interface {
	Documents() ([]Document, error)
}

// FileSource is a single TOML file.
type FileSource string

// Documents reads the file.
func (f FileSource) Documents() ([]Document, error) {
	data, err := os.ReadFile(string(f))
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	return []Document{{Name: string(f), Data: data}}, nil
}

// DirSource is a directory whose *.toml files, in it and in its
// subdirectories, together form the configuration: Pingap's layouts with one
// file per category (servers.toml) or one per item (servers/main.toml) both
// load. Files and directories whose names start with "." are skipped (editor
// and VCS files), as is anything not ending in ".toml".
type DirSource string

// Documents reads every *.toml file, in lexical path order.
func (d DirSource) Documents() ([]Document, error) {
	root := string(d)
	var paths []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".toml") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading config directory: %w", err)
	}
	sort.Strings(paths)
	docs := make([]Document, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading config directory: %w", err)
		}
		docs = append(docs, Document{Name: p, Data: data})
	}
	return docs, nil
}

// StaticSource is a configuration held in memory, for tests and for the
// admin API.
type StaticSource []Document

// Documents returns the documents as they are.
func (s StaticSource) Documents() ([]Document, error) { return s, nil }

var (
	_ Source = FileSource("")
	_ Source = DirSource("")
	_ Source = StaticSource(nil)
)
