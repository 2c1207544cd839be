package footfall

// Merge counts everything counted so far for track from as track into's:
// the tracker found later that both were one phone (a randomised MAC it
// could not link at once; locate.Merge). Their days join (first and last
// detection, fixes), visits open in the store join into one, and closed
// visits and past days of from are into's. After a merge the counter is
// what it would be had from's positions carried into's name (but for
// visits of into that had already closed, which stay as they were).
// Merging an unknown track, or a track into itself, does nothing. Merge
// returns the span of from's detections, first to last (Unix ms), within
// which its summaries lay (for a store to delete them); ok is false when
// nothing was merged.
func (c *Counter) Merge(from, into string) (first, last int64, ok bool) {
	f := c.tracks[from]
	if from == into || into == "" || f == nil {
		return 0, 0, false
	}
	first, last = f.day.First, f.lastFix
	if !f.hasDay {
		first = f.lastFix
	}
	delete(c.tracks, from)
	delete(c.open, from)
	for i := range c.closed {
		if c.closed[i].Track == from {
			c.closed[i].Track = into
		}
	}
	for i := range c.oldDays {
		if c.oldDays[i].Track == from {
			c.oldDays[i].Track = into
			first = min(first, c.oldDays[i].First)
		}
	}
	f.day.Track, f.store.Track, f.area.Track = into, into, into
	for i := range f.pend {
		f.pend[i].Track = into
	}
	t := c.tracks[into]
	if t == nil {
		c.tracks[into] = f
		if f.store.Fixes > 0 {
			c.open[into] = f
		}
		return first, last, true
	}
	if f.hasDay {
		switch {
		case !t.hasDay:
			t.day, t.hasDay = f.day, true
		case t.day.Day == f.day.Day:
			t.day.First = min(t.day.First, f.day.First)
			t.day.Last = max(t.day.Last, f.day.Last)
			t.day.Fixes += f.day.Fixes
		case f.day.Day > t.day.Day:
			c.oldDays = append(c.oldDays, t.day)
			t.day = f.day
		default:
			c.oldDays = append(c.oldDays, f.day)
		}
	}
	if f.area.Fixes > 0 && f.area.Start == f.store.Start && t.store.Fixes > 0 && t.store.End < f.store.Start {
		// from's area visit began with its first fix in the store: as
		// into's, it began halfway since into's last fix in the store.
		f.area.Start = midpoint(t.store.End, f.area.Start)
	}
	if f.store.Fixes > 0 {
		if t.store.Fixes > 0 {
			// The door's fixes go with the earlier start and the later
			// end, and so does the provision of a visit begun unsure of
			// the side.
			if f.store.Start < t.store.Start {
				t.store.Start, t.store.Before, t.store.Enter = f.store.Start, f.store.Before, f.store.Enter
				t.weak = f.weak
			}
			if f.store.End > t.store.End {
				t.store.End, t.store.After = f.store.End, f.store.After
			}
			t.store.Fixes += f.store.Fixes
		} else {
			t.store, t.weak = f.store, f.weak
			c.open[into] = t
		}
		t.pend = append(t.pend, f.pend...)
		if !t.weak {
			// held area visits of either go with a visit that counts
			c.closed = append(c.closed, t.pend...)
			t.pend = t.pend[:0]
		}
		c.confirm(t)
		c.nextDue = min(c.nextDue, t.store.End+c.gap)
	}
	switch {
	case f.area.Fixes == 0:
	case t.area.Fixes > 0 && t.area.Zone == f.area.Zone:
		t.area.Start = min(t.area.Start, f.area.Start)
		t.area.End = max(t.area.End, f.area.End)
		t.area.Fixes += f.area.Fixes
	case f.lastFix > t.lastFix:
		// The later track's area visit is the one still going on.
		c.closeArea(t)
		t.area = f.area
	default:
		c.record(t, f.area)
	}
	// The track goes on where the later of the two was.
	if f.lastFix > t.lastFix {
		t.pres, t.lastFix = f.pres, f.lastFix
		t.outT, t.candT = f.outT, f.candT
	}
	return first, last, true
}
