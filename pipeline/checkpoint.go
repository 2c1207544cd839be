package pipeline

import (
	"reflect"
	"time"

	"github.com/passant/passant/checkpoint"
	"github.com/passant/passant/locate"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// CheckpointKeep are the types a checkpoint of a pipeline (and of the
// handlers' state beside it: a footfall counter, ...) does not hold: what
// New and the handlers' constructors build from the site alone (the site,
// its zones and time zone, the locator's model and grids) and the wiring
// (the configuration, the handlers). A checkpoint is read into a pipeline
// that New made afresh with the same site and configuration (package
// checkpoint).
var CheckpointKeep = checkpoint.Keep{
	reflect.TypeFor[*wire.Site](),
	reflect.TypeFor[*zones.Plan](),
	reflect.TypeFor[*time.Location](),
	reflect.TypeFor[*locate.Model](),
	reflect.TypeFor[*locate.Grid](),
	reflect.TypeFor[Config](),
	reflect.TypeFor[[]Handler](),
}
