package tlsx

import (
	"os"
	"time"
)

// Env holds the side effects the package needs: reading certificate files,
// finding the home directory for "~" paths, and the clock that decides
// whether a certificate has expired. Tests pass fakes; a zero field means
// the real one (see DefaultEnv).
type Env struct {
	// ReadFile reads a certificate or key file.
	ReadFile func(name string) ([]byte, error)
	// HomeDir returns the directory "~" expands to.
	HomeDir func() (string, error)
	// Now is the current time, for validity warnings.
	Now func() time.Time
	// CacheDir is the user's cache directory, under which the ACME cache
	// goes when no directory is configured.
	CacheDir func() (string, error)
}

// DefaultEnv is the real environment: the os package and time.Now.
func DefaultEnv() Env {
	return Env{ReadFile: os.ReadFile, HomeDir: os.UserHomeDir, Now: time.Now, CacheDir: os.UserCacheDir}
}

// withDefaults fills the zero fields of e from DefaultEnv.
func (e Env) withDefaults() Env {
	d := DefaultEnv()
	if e.ReadFile == nil {
		e.ReadFile = d.ReadFile
	}
	if e.HomeDir == nil {
		e.HomeDir = d.HomeDir
	}
	if e.Now == nil {
		e.Now = d.Now
	}
	if e.CacheDir == nil {
		e.CacheDir = d.CacheDir
	}
	return e
}
