package pipeline

// dedup drops redelivered batches, by the contract's (sensor, boot, id), and
// counts gaps in a boot's ids as lost batches. A later arrival that fills a
// gap is no longer counted as lost.
type dedup struct {
	boot  int64
	maxID int64
	seen  [window / 64]uint64 // bitmap of ids in (maxID-window, maxID]
	lost  int64
	dupes int64
}

const window = 4096

// accept reports whether the batch (boot, id) is new. Batches without boot
// and id are always new.
func (d *dedup) accept(boot, id int64) bool {
	if id <= 0 {
		return true
	}
	switch {
	case boot < d.boot:
		// A late batch from before the sensor restarted: it can't be
		// checked against the window, so it is taken.
		return true
	case boot > d.boot || d.maxID == 0:
		d.boot, d.maxID = boot, 0
		d.seen = [window / 64]uint64{}
		if id > 1 {
			d.lost += id - 1
		}
		d.set(id)
		d.maxID = id
		return true
	}
	switch {
	case id > d.maxID:
		if gap := id - d.maxID - 1; gap > 0 {
			d.lost += gap
		}
		for i := d.maxID + 1; i <= id && i <= d.maxID+window; i++ {
			d.clear(i)
		}
		d.maxID = id
		d.set(id)
		return true
	case id <= d.maxID-window:
		// Too old to tell; treat as a redelivery.
		d.dupes++
		return false
	case d.has(id):
		d.dupes++
		return false
	default:
		d.set(id)
		d.lost--
		return true
	}
}

func (d *dedup) set(id int64)      { d.seen[(id/64)%(window/64)] |= 1 << uint(id%64) }
func (d *dedup) clear(id int64)    { d.seen[(id/64)%(window/64)] &^= 1 << uint(id%64) }
func (d *dedup) has(id int64) bool { return d.seen[(id/64)%(window/64)]&(1<<uint(id%64)) != 0 }
