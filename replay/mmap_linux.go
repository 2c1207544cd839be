package replay

import "syscall"

// mapPopulate maps the file's pages at once (one system call instead of a
// fault per 16 pages as the parser reaches them).
const mapPopulate = syscall.MAP_POPULATE
