package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// undo remembers the files and directories a command created, so that a
// command failing before it has done its work can remove them and leave
// no new files: no data directory, database or key that the next command
// would take for a deployment (a key made by a failed command would be
// taken for the database's).
type undo struct{ paths []string }

// add records path as created by this command.
func (u *undo) add(path string) { u.paths = append(u.paths, path) }

// addIfAbsent records each path that does not exist yet (a file that
// something this command starts will create).
func (u *undo) addIfAbsent(paths ...string) {
	for _, p := range paths {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			u.add(p)
		}
	}
}

// keep forgets path: it must stay even if the command fails.
func (u *undo) keep(path string) {
	u.paths = slices.DeleteFunc(u.paths, func(p string) bool { return p == path })
}

// forget forgets every path: they must all stay.
func (u *undo) forget() { u.paths = nil }

// mkdirAll is os.MkdirAll, recording every directory it creates.
func (u *undo) mkdirAll(dir string, perm os.FileMode) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, perm); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		u.add(missing[i])
	}
	return nil
}

// run removes what was recorded, newest first. Directories are removed
// only when empty, so nothing that was there before, or that someone else
// wrote meanwhile, is lost.
func (u *undo) run() {
	for i := len(u.paths) - 1; i >= 0; i-- {
		os.Remove(u.paths[i])
	}
	u.paths = nil
}
