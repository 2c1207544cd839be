//go:build mips || mipsle || mips64 || mips64le

package store

// sqliteAvailable says whether this build has the embedded database: not on
// MIPS (see sqlite.go).
const sqliteAvailable = false

func sqliteCode(error) (int, bool) { return 0, false }
