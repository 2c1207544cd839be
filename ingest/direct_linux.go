package ingest

import (
	"os"
	"syscall"
)

// openDirect opens the journal file name for writing with direct I/O
// (O_DIRECT: from memory to the disk, past the page cache); an error when
// the file system does not have it.
func openDirect(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_WRONLY|syscall.O_DIRECT, 0)
}
