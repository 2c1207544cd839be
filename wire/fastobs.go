package wire

// fastObservation reads an observation object at the cursor when it is
// written as encoders write one: no white space, keys and string values of
// plain ASCII without escapes, integers only (no fraction or exponent), no
// null and no unknown key. It fills f exactly as the general path would and
// returns true with the cursor after the object; on anything else it leaves
// the cursor where it was and returns false, and the general path reads the
// object (with its checks and errors).
func (s *scanner) fastObservation(f *obsFields) bool {
	d := s.data
	i := s.pos
	if i >= len(d) || d[i] != '{' {
		return false
	}
	i++
	for {
		key, n := plainString(d[i:])
		if n == 0 || i+n >= len(d) || d[i+n] != ':' {
			return false
		}
		i += n + 1
		switch string(key) {
		case "t":
			v, n := plainInt(d[i:])
			if n == 0 {
				return false
			}
			f.hasT, f.o.T, f.tOK = true, v, true
			i += n
		case "dev":
			v, n := plainString(d[i:])
			if n == 0 {
				return false
			}
			f.hasDev, f.devText, f.devOK = true, v, true
			i += n
		case "rssi":
			v, n := plainInt(d[i:])
			if n == 0 {
				return false
			}
			f.hasRSSI, f.o.RSSI, f.rssiOK = true, float64(v), true
			i += n
		case "ch":
			v, n := plainInt(d[i:])
			if n == 0 {
				return false
			}
			if v >= 0 && v <= 1000 {
				f.o.Ch = int(v)
			}
			i += n
		case "seq":
			v, n := plainInt(d[i:])
			if n == 0 {
				return false
			}
			if v < -1 || v > 4095 {
				f.seqOK = false
			} else {
				f.o.Seq = int(v)
			}
			i += n
		case "fp":
			v, n := plainString(d[i:])
			if n == 0 {
				return false
			}
			f.o.FP = s.fp(v)
			i += n
		case "kind":
			v, n := plainString(d[i:])
			if n == 0 {
				return false
			}
			f.o.Kind = internKind(v)
			i += n
		case "rand":
			switch {
			case len(d)-i >= 4 && string(d[i:i+4]) == "true":
				f.o.Rand = true
				i += 4
			case len(d)-i >= 5 && string(d[i:i+5]) == "false":
				f.o.Rand = false
				i += 5
			default:
				return false
			}
		default:
			return false
		}
		if i >= len(d) {
			return false
		}
		switch d[i] {
		case ',':
			i++
		case '}':
			s.pos = i + 1
			return true
		default:
			return false
		}
	}
}

// plainString returns the contents of the JSON string at the start of b and
// the length of the string with its quotes, when it holds only printable
// ASCII without escapes; n = 0 otherwise.
func plainString(b []byte) (v []byte, n int) {
	if len(b) == 0 || b[0] != '"' {
		return nil, 0
	}
	for j := 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[1:j], j + 1
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0
		}
	}
	return nil, 0
}

// plainInt returns the JSON integer at the start of b (-?(0|[1-9][0-9]*),
// at most 15 digits) and its length, when it is followed by ',' or '}';
// n = 0 otherwise (a fraction, an exponent, anything else).
func plainInt(b []byte) (v int64, n int) {
	i := 0
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 15 || (digits > 1 && b[start] == '0') {
		return 0, 0
	}
	if i >= len(b) || (b[i] != ',' && b[i] != '}') {
		return 0, 0
	}
	if neg {
		v = -v
	}
	return v, i
}
