//go:build !unix

package ingest

import "os"

// Elsewhere than on Unix no advisory lock is taken: run `passant forget`
// with the server stopped, or use its API.
func lockShared(*os.File) error               { return nil }
func tryLockExclusive(*os.File) (bool, error) { return true, nil }
func lockExclusive(*os.File) error            { return nil }
func syncDirOS(string) error                  { return nil }
