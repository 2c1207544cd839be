package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
)

// ParseBatch decodes and checks one observation batch, the payload of an MQTT
// message. A batch that breaks the contract as a whole is rejected with an
// error that wraps ErrNotJSON, ErrMissing, ErrVersion or ErrTooLarge; other
// observations that break it are dropped and counted in Drops, and the rest
// are kept. The topic's sensor is checked by the caller (Batch.CheckTopic).
func ParseBatch(data []byte) (Batch, Drops, error) {
	b, d, _, err := DecodeBatch(data)
	return b, d, err
}

// DecodeBatch is ParseBatch that also reports whether the payload is plain:
// on one line, with only the contract's fields, every observation kept
// (none dropped) and written as encoders write one (compact, integers,
// plain ASCII strings). A plain payload may stand for the batch where a
// line of it is stored: it decodes to the same batch (decoding is a pure
// function of the bytes) and carries nothing the batch does not, so a
// journal can keep it verbatim instead of the batch encoded again
// (AppendJournalPayload).
func DecodeBatch(data []byte) (b Batch, d Drops, plain bool, err error) {
	return decodeBatch(data, nil, false)
}

// DecodeBatchInto is DecodeBatch that decodes the observations into obs's
// array, growing it as needed: the batch's Obs shares it. A caller that
// only checks a payload (the checks and the drops are DecodeBatch's, the
// observations thrown away) reuses one buffer for every batch and
// allocates nothing per observation.
func DecodeBatchInto(data []byte, obs []Observation) (b Batch, d Drops, plain bool, err error) {
	return decodeBatch(data, obs[:0], true)
}

func decodeBatch(data []byte, obs []Observation, reuse bool) (b Batch, d Drops, plain bool, err error) {
	if len(data) > MaxBatchLen {
		return b, d, false, fmt.Errorf("wire: batch of %d bytes: %w (limit %d)", len(data), ErrTooLarge, MaxBatchLen)
	}
	b.Obs = obs
	s := scanner{data: data, reuse: reuse}
	if s.peek() != '{' {
		return b, d, false, notObject(data)
	}
	if err := s.batch(&b, &d, nil); err != nil {
		return Batch{}, Drops{}, false, err
	}
	if err := s.end(); err != nil {
		return Batch{}, Drops{}, false, err
	}
	return b, d, !s.extra && d.Total() == 0, nil
}

// ParseLine decodes one line of replay input: either a batch, exactly the
// MQTT payload, or a journal line {"recv":...,"batch":{...}}. recv is 0 for a
// plain batch.
func ParseLine(data []byte) (recv int64, b Batch, d Drops, err error) {
	recv, b, d, _, err = parseLineInto(data, nil, nil, nil, nil)
	return recv, b, d, err
}

// notObject is the error for input that is not a JSON object: valid JSON of
// another kind lacks the batch's fields; anything else is not JSON.
func notObject(data []byte) error {
	if json.Valid(data) {
		return fmt.Errorf("wire: batch: %w: not an object", ErrMissing)
	}
	return fmt.Errorf("wire: batch: %w: not an object", ErrNotJSON)
}

type journal struct {
	recv     int64
	hasBatch bool
	b        Batch
	d        Drops
	err      error
}

// batch reads a batch object. With j non-nil it also takes the journal
// line's fields recv and batch.
func (s *scanner) batch(b *Batch, d *Drops, j *journal) error {
	if !noFastObs && !noOrderedObs && s.orderedBatch(b) {
		return nil
	}
	var hasV, hasSensor, hasSent, hasObs bool
	var vOK, sensorOK, sentOK, obsOK = true, true, true, true
	var tooMany bool
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "v":
			hasV = true
			var v int64
			v, vOK, err = s.int64Val()
			b.V = int(v)
			if v != int64(b.V) {
				b.V = -1
			}
		case "sensor":
			hasSensor = true
			var v []byte
			v, sensorOK, err = s.strVal()
			b.Sensor = s.sensorID(v)
		case "boot":
			var ok bool
			b.Boot, ok, err = s.int64Val()
			if !ok {
				b.Boot = 0
			}
		case "id":
			var ok bool
			b.ID, ok, err = s.int64Val()
			if !ok {
				b.ID = 0
			}
		case "sent":
			hasSent = true
			b.Sent, sentOK, err = s.int64Val()
		case "obs":
			hasObs = true
			if kindOf(s.peek()) != vArray {
				obsOK = false
				return s.skip()
			}
			// Room for every object that follows: exactly the
			// observations in a payload without other objects, so
			// that appending never copies. A caller's buffer
			// (DecodeBatchInto) grows by appending instead.
			if !s.reuse {
				if est := min(bytes.Count(s.data[s.pos:], openBrace), MaxObs); cap(b.Obs) < est {
					b.Obs = make([]Observation, 0, est)
				}
			}
			b.Obs = b.Obs[:0]
			n := 0
			err = s.array(func() error {
				n++
				if n > MaxObs {
					tooMany = true
					return s.skip()
				}
				return s.observation(b, d)
			})
		case "recv":
			if j == nil {
				s.extra = true
				return s.skip()
			}
			var ok bool
			j.recv, ok, err = s.int64Val()
			if !ok {
				j.recv = 0
			}
		case "batch":
			if j == nil || kindOf(s.peek()) != vObject {
				s.extra = true
				return s.skip()
			}
			j.hasBatch = true
			j.err = s.batch(&j.b, &j.d, nil)
			if j.err != nil && !isSyntax(j.err) {
				err = nil
			} else {
				err = j.err
			}
		default:
			s.extra = true
			err = s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case !hasV || !hasSensor || !hasSent || !hasObs:
		var miss []string
		for _, m := range []struct {
			ok   bool
			name string
		}{{hasV, "v"}, {hasSensor, "sensor"}, {hasSent, "sent"}, {hasObs, "obs"}} {
			if !m.ok {
				miss = append(miss, m.name)
			}
		}
		return fmt.Errorf("wire: batch: %w: %v", ErrMissing, miss)
	case !vOK || b.V != Version:
		return fmt.Errorf("wire: batch: %w: v is not %d", ErrVersion, Version)
	case !sensorOK || !ValidID(b.Sensor):
		return fmt.Errorf("wire: batch: %w: sensor %s", ErrBadID, quoteTrunc([]byte(b.Sensor), 70))
	case !sentOK:
		return fmt.Errorf("wire: batch: %w: sent is not an integer", ErrMissing)
	case !obsOK:
		return fmt.Errorf("wire: batch: %w: obs is not an array", ErrMissing)
	case tooMany:
		return fmt.Errorf("wire: batch: %w: more than %d observations", ErrTooLarge, MaxObs)
	}
	return nil
}

func isSyntax(err error) bool {
	return err != nil && errors.Is(err, ErrNotJSON)
}

// observation reads one element of obs, appending it to b.Obs when it is
// valid and counting it in d when not.
func (s *scanner) observation(b *Batch, d *Drops) error {
	if !noFastObs && !noOrderedObs && s.orderedObservation(b) {
		return nil
	}
	if kindOf(s.peek()) != vObject {
		d.BadOther++
		return s.skip()
	}
	f := obsFields{o: Observation{Seq: -1, Kind: KindProbe}, tOK: true, devOK: true, rssiOK: true, seqOK: true}
	if !noFastObs && s.fastObservation(&f) {
		return f.finish(b, d)
	}
	s.extra = true
	f = obsFields{o: Observation{Seq: -1, Kind: KindProbe}, tOK: true, devOK: true, rssiOK: true, seqOK: true}
	o := &f.o
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "t":
			f.hasT = true
			o.T, f.tOK, err = s.int64Val()
		case "dev":
			f.hasDev = true
			f.devText, f.devOK, err = s.strVal()
		case "rssi":
			f.hasRSSI = true
			o.RSSI, f.rssiOK, err = s.floatVal()
		case "ch":
			var v int64
			var ok bool
			v, ok, err = s.int64Val()
			if ok && v >= 0 && v <= 1000 {
				o.Ch = int(v)
			}
		case "kind":
			var v []byte
			var ok bool
			v, ok, err = s.strVal()
			if ok {
				o.Kind = internKind(v)
			}
		case "rand":
			var v, ok bool
			v, ok, err = s.boolVal()
			if ok {
				o.Rand = v
			}
		case "seq":
			var v int64
			var ok bool
			if kindOf(s.peek()) == vNull {
				return s.skip()
			}
			v, ok, err = s.int64Val()
			if !ok || v < -1 || v > 4095 {
				f.seqOK = false
			} else {
				o.Seq = int(v)
			}
		case "fp":
			var v []byte
			var ok bool
			v, ok, err = s.strVal()
			if ok {
				o.FP = s.fp(v)
			}
		default:
			err = s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	return f.finish(b, d)
}

var openBrace = []byte{'{'}

// noFastObs turns the fast paths off, noOrderedObs the one for the
// encoder's key order (tests compare the paths).
var noFastObs, noOrderedObs bool

// obsFields is what an observation object said, before it is checked.
type obsFields struct {
	o                         Observation
	hasT, hasDev, hasRSSI     bool
	tOK, devOK, rssiOK, seqOK bool
	devText                   []byte
}

// finish checks the observation, appending it to b.Obs when it is valid and
// counting it in d when not.
func (f *obsFields) finish(b *Batch, d *Drops) error {
	o := f.o
	switch {
	case !f.hasT || !f.hasDev || !f.hasRSSI || !f.tOK || !f.devOK || !f.rssiOK:
		d.Missing++
		return nil
	case o.T <= 0:
		d.BadOther++
		return nil
	case math.IsNaN(o.RSSI) || o.RSSI < MinRSSI || o.RSSI > MaxRSSI:
		d.BadRSSI++
		return nil
	case !f.seqOK:
		d.BadSeq++
		return nil
	}
	dev, ok := parseDev(f.devText)
	if !ok {
		d.BadDev++
		return nil
	}
	o.Dev = dev
	b.Obs = append(b.Obs, o)
	return nil
}

func internKind(v []byte) string {
	switch string(v) {
	case "", KindProbe:
		return KindProbe
	case KindData:
		return KindData
	case KindBLE:
		return KindBLE
	}
	return string(v)
}

// fpIntern interns fingerprints: a site sees few distinct ones, so decoding
// a batch allocates no string per observation. It is bounded; past the bound
// strings are allocated as usual.
type fpIntern struct {
	mu sync.RWMutex
	m  map[string]string
}

const maxInterned = 1 << 14

var fpTable = &fpIntern{m: make(map[string]string)}

func (t *fpIntern) get(v []byte) string {
	t.mu.RLock()
	s, ok := t.m[string(v)]
	t.mu.RUnlock()
	if ok {
		return s
	}
	s = string(v)
	if len(v) > 16 {
		return s
	}
	t.mu.Lock()
	if len(t.m) < maxInterned {
		t.m[s] = s
	}
	t.mu.Unlock()
	return s
}

func internFP(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	return fpTable.get(v)
}

// CheckTopic checks the batch's sensor against the topic's.
func (b *Batch) CheckTopic(sensor string) error {
	if b.Sensor != sensor {
		return fmt.Errorf("wire: batch: %w: payload names %s, topic %s", ErrSensorMismatch,
			quoteTrunc([]byte(b.Sensor), 70), quoteTrunc([]byte(sensor), 70))
	}
	return nil
}
