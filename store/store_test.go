package store_test

import (
	"testing"

	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store { return storetest.OpenSQLiteBare(t) })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store { return storetest.OpenPostgresBare(t) })
}
