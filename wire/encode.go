package wire

import (
	"math"
	"strconv"
)

// AppendBatch appends the wire form of b to dst: fields in the contract's
// order, optional fields left out when unknown (boot and id when 0, ch when
// 0, kind when probe, rand when false, seq when -1, fp when empty).
func AppendBatch(dst []byte, b *Batch) []byte {
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, int64(b.V), 10)
	dst = append(dst, `,"sensor":`...)
	dst = appendQuote(dst, b.Sensor)
	if b.Boot != 0 || b.ID != 0 {
		dst = append(dst, `,"boot":`...)
		dst = strconv.AppendInt(dst, b.Boot, 10)
		dst = append(dst, `,"id":`...)
		dst = strconv.AppendInt(dst, b.ID, 10)
	}
	dst = append(dst, `,"sent":`...)
	dst = strconv.AppendInt(dst, b.Sent, 10)
	dst = append(dst, `,"obs":[`...)
	for i := range b.Obs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendObservation(dst, &b.Obs[i])
	}
	return append(dst, "]}"...)
}

// AppendObservation appends the wire form of one observation.
func AppendObservation(dst []byte, o *Observation) []byte {
	dst = append(dst, `{"t":`...)
	dst = strconv.AppendInt(dst, o.T, 10)
	dst = append(dst, `,"dev":"`...)
	dst = o.Dev.appendHex(dst)
	dst = append(dst, `","rssi":`...)
	dst = AppendNumber(dst, o.RSSI)
	if o.Ch != 0 {
		dst = append(dst, `,"ch":`...)
		dst = strconv.AppendInt(dst, int64(o.Ch), 10)
	}
	if o.Kind != "" && o.Kind != KindProbe {
		dst = append(dst, `,"kind":`...)
		dst = appendQuote(dst, o.Kind)
	}
	if o.Rand {
		dst = append(dst, `,"rand":true`...)
	}
	if o.Seq >= 0 {
		dst = append(dst, `,"seq":`...)
		dst = strconv.AppendInt(dst, int64(o.Seq), 10)
	}
	if o.FP != "" {
		dst = append(dst, `,"fp":`...)
		dst = appendQuote(dst, o.FP)
	}
	return append(dst, '}')
}

// AppendJournalLine appends the journal form {"recv":...,"batch":{...}}.
func AppendJournalLine(dst []byte, recv int64, b *Batch) []byte {
	dst = append(dst, `{"recv":`...)
	dst = strconv.AppendInt(dst, recv, 10)
	dst = append(dst, `,"batch":`...)
	dst = AppendBatch(dst, b)
	return append(dst, '}')
}

// AppendJournalPayload appends the journal line of a batch received as a
// plain payload (DecodeBatch): {"recv":...,"batch":<the payload>}.
func AppendJournalPayload(dst []byte, recv int64, payload []byte) []byte {
	dst = append(dst, `{"recv":`...)
	dst = strconv.AppendInt(dst, recv, 10)
	dst = append(dst, `,"batch":`...)
	dst = append(dst, trimSpace(payload)...)
	return append(dst, '}')
}

// AppendNumber appends f in the shortest form that reads back exactly,
// without an exponent for ordinary magnitudes (-67, -67.5, 12.25). NaN and
// infinities, which JSON cannot hold, are written as null.
func AppendNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	abs := math.Abs(f)
	if abs < 1e-6 || abs >= 1e21 {
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// AppendRounded appends f rounded to the given number of decimals, shortest
// form (12.3 rather than 12.300): AppendNumber of r = round(f·10^d)/10^d.
//
// For up to 6 decimals and |m| < 10¹², m = round(f·10^d), the digits are
// written from the integer m (roundedDigits) instead of by strconv's
// shortest search, with the same bytes. r is the double nearest to the
// decimal q = m/10^d (m and 10^d are exact and the division is correctly
// rounded; q is never halfway between two doubles, since a dyadic q is
// (m/5^d)/2^d with |m/5^d| < 2^40, exactly a double), so q reads back as
// r; and r's rounding interval (an ulp, below 10^(12-d)·2^-52 < 10^-d/2)
// holds no other decimal with d or fewer decimals, so q's digits without
// trailing zeros are the shortest that read back as r.
// TestAppendRoundedMatchesStrconv checks them against strconv.
func AppendRounded(dst []byte, f float64, decimals int) []byte {
	p := math.Pow10(decimals)
	m := math.Round(f * p)
	if decimals >= 0 && decimals <= 6 && m > -1e12 && m < 1e12 { // false for NaN
		return roundedDigits(dst, int64(m), decimals)
	}
	r := m / p
	if r == 0 {
		r = 0 // no "-0"
	}
	return AppendNumber(dst, r)
}

// roundedDigits appends m·10^-d in fixed notation without trailing zeros
// in the fraction (0 for m = 0, no "-0").
func roundedDigits(dst []byte, m int64, d int) []byte {
	if m < 0 {
		dst = append(dst, '-')
		m = -m
	}
	var pow int64 = 1
	for range d {
		pow *= 10
	}
	dst = strconv.AppendInt(dst, m/pow, 10)
	frac := m % pow
	if frac == 0 {
		return dst
	}
	for frac%10 == 0 {
		frac /= 10
		d--
	}
	var buf [6]byte
	for i := d - 1; i >= 0; i-- {
		buf[i] = byte('0' + frac%10)
		frac /= 10
	}
	dst = append(dst, '.')
	return append(dst, buf[:d]...)
}
