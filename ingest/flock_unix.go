//go:build unix

package ingest

import (
	"errors"
	"os"
	"syscall"
)

// lockShared takes a shared advisory lock (flock) on f, waiting for an
// exclusive one to go: the journal holds one on each file it has open.
func lockShared(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH)
		if !errors.Is(err, syscall.EINTR) {
			return noLocks(err)
		}
	}
}

// noLocks is nil for the error of a file system without flock (the locks
// are then not taken: the journal must go on; the erasures run as before
// them), else err.
func noLocks(err error) error {
	if errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
}

// tryLockExclusive takes an exclusive advisory lock on f without waiting:
// false when another open of the file (a journal's, in this process or
// another) holds a lock on it.
func tryLockExclusive(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case noLocks(err) == nil:
			return true, nil // no locks here
		case !errors.Is(err, syscall.EINTR):
			return false, err
		}
	}
}

// lockExclusive takes an exclusive advisory lock on f, waiting for it.
func lockExclusive(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return noLocks(err)
		}
	}
}

// syncDirOS syncs a directory, so that a rename in it lasts through a
// power loss.
func syncDirOS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
