package wasm

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce is how long a module file must stay unchanged before it is
// reloaded, so that a file being written is read once, complete.
const watchDebounce = 200 * time.Millisecond

// dirWatcher reloads the modules of a plugin directory when their files
// change.
type dirWatcher struct {
	dir  string
	w    *fsnotify.Watcher
	done chan struct{}
	wg   sync.WaitGroup
}

// watch starts watching dir (replacing a watcher of another directory).
// Problems are logged: hot replacement is a convenience, the running
// plugins are unaffected.
func (rt *Runtime) watch(dir string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	rt.mu.Lock()
	if rt.closed || rt.watcher != nil && rt.watcher.dir == abs {
		rt.mu.Unlock()
		return
	}
	old := rt.watcher
	rt.watcher = nil
	rt.mu.Unlock()
	if old != nil {
		old.close()
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		rt.log.Warn("cannot watch the plugin directory; changed modules need a restart", "dir", abs, "error", err)
		return
	}
	if err := fw.Add(abs); err != nil {
		fw.Close()
		rt.log.Warn("cannot watch the plugin directory; changed modules need a restart", "dir", abs, "error", err)
		return
	}
	dw := &dirWatcher{dir: abs, w: fw, done: make(chan struct{})}
	rt.mu.Lock()
	if rt.closed || rt.watcher != nil {
		rt.mu.Unlock()
		fw.Close()
		return
	}
	rt.watcher = dw
	rt.mu.Unlock()
	dw.wg.Add(1)
	go dw.run(rt)
}

func (dw *dirWatcher) run(rt *Runtime) {
	defer dw.wg.Done()
	timers := map[string]*time.Timer{}
	defer func() {
		for _, t := range timers {
			t.Stop()
		}
	}()
	for {
		select {
		case <-dw.done:
			return
		case err, ok := <-dw.w.Errors:
			if !ok {
				return
			}
			rt.log.Warn("plugin directory watcher", "dir", dw.dir, "error", err)
		case ev, ok := <-dw.w.Events:
			if !ok {
				return
			}
			if !strings.HasSuffix(ev.Name, ".wasm") || !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Create) {
				continue
			}
			path := ev.Name
			if t := timers[path]; t != nil {
				t.Reset(watchDebounce)
				continue
			}
			timers[path] = time.AfterFunc(watchDebounce, func() {
				if err := rt.ReloadFile(rt.ctx, path); err != nil {
					rt.log.Error("changed plugin module rejected; the running one stays", "module", path, "error", err)
				}
			})
		}
	}
}

func (dw *dirWatcher) close() {
	close(dw.done)
	dw.w.Close()
	dw.wg.Wait()
}

// ReloadFile replaces the module of every live plugin that runs the file at
// path by the file's current content, if it changed: the new module is
// compiled and checked, its first VM (the canary) is configured with every
// plugin config that uses the file, the other VMs are started, then the
// plugins switch to it atomically. New streams use the new VMs; streams in
// flight finish on the old ones, which are then freed. On any error the
// running module stays and the error says why. The plugin-dir watcher
// calls it; the app may too (e.g. on SIGHUP).
func (rt *Runtime) ReloadFile(ctx context.Context, path string) error {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	rt.loadMu.Lock()
	defer rt.loadMu.Unlock()
	rt.mu.Lock()
	users := make([]*plugin, 0, len(rt.files[path]))
	for pl := range rt.files[path] {
		users = append(users, pl)
	}
	rt.mu.Unlock()
	if len(users) == 0 {
		return nil
	}
	sort.Slice(users, func(i, j int) bool { return users[i].name < users[j].name })
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading module: %w", err)
	}
	hash := sha256.Sum256(b)
	changed := false
	for _, pl := range users {
		if cur := pl.cur.Load(); cur != nil && cur.pool.hash != hash {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	np, err := rt.poolFor(ctx, path, b)
	if err != nil {
		return err
	}
	type move struct {
		pl *plugin
		pc *poolConfig
	}
	var moves []move
	rollback := func() {
		for _, m := range moves {
			np.release(m.pc)
		}
		np.closeIfUnused()
	}
	for _, pl := range users {
		if cur := pl.cur.Load(); cur == nil || cur.pool == np {
			continue
		}
		pc, err := np.acquire(pl.cfg)
		if errors.Is(err, errPoolClosed) {
			err = errors.New("module retired while reloading; try again")
		}
		if err != nil {
			rollback()
			return err
		}
		moves = append(moves, move{pl, pc})
	}
	if err := np.fill(); err != nil {
		rollback()
		return fmt.Errorf("starting VMs: %w", err)
	}
	names := make([]string, 0, len(moves))
	for _, m := range moves {
		if old := m.pl.cur.Swap(&binding{pool: np, pc: m.pc}); old != nil {
			old.pool.release(old.pc)
		}
		names = append(names, m.pl.name)
	}
	rt.log.Info("plugin module replaced", "module", path, "sha256", np.shortHash(), "plugins", names)
	return nil
}
