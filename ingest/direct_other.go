//go:build !linux

package ingest

import (
	"errors"
	"os"
)

// openDirect: direct I/O is used on Linux only; elsewhere the journal
// writes through the page cache.
func openDirect(string) (*os.File, error) { return nil, errors.ErrUnsupported }
