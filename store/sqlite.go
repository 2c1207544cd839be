//go:build !(mips || mipsle || mips64 || mips64le)

package store

import (
	"errors"

	"modernc.org/sqlite" // the embedded backend's driver
)

// sqliteAvailable says whether this build has the embedded database. The
// pure-Go SQLite does not run on MIPS, where only the sensor is meant to run
// (OpenWrt routers); a server there needs PostgreSQL.
const sqliteAvailable = true

// sqliteCode returns the SQLite result code of err, if it has one.
func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), true
	}
	return 0, false
}
