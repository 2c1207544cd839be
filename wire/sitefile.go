package wire

// Reading and writing site files: JSON or YAML in, the contract's defaults
// filled for what the file does not give, unknown fields named
// (siteunknown.go); indented JSON out.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadSite reads a site file, JSON or YAML (by extension .yaml/.yml, or by
// content), fills defaults and validates it.
func LoadSite(path string) (*Site, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	ext := strings.ToLower(filepath.Ext(path))
	s, err := ParseSite(data, ext == ".yaml" || ext == ".yml")
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", path, err)
	}
	return s, nil
}

// ParseSite decodes a site from JSON (or YAML when yamlIn is true, or when the
// data does not start with '{'), fills defaults and validates it. Unknown
// fields are ignored and named in Site.Ignored, for the caller to warn of.
func ParseSite(data []byte, yamlIn bool) (*Site, error) {
	trimmed := bytes.TrimSpace(data)
	if yamlIn || (len(trimmed) > 0 && trimmed[0] != '{') {
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("yaml: %w", err)
		}
		j, err := json.Marshal(yamlToJSON(v))
		if err != nil {
			return nil, fmt.Errorf("yaml: %w", err)
		}
		data = j
	}
	var s Site
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return nil, jsonFieldError(err)
	}
	if dec.More() {
		return nil, errors.New("data after the site object")
	}
	s.Ignored = unknownFields(data, reflect.TypeFor[Site]())
	// Which of the contract's defaulted fields the file gives: a value
	// given is the site's, 0 too (visitor_min_dwell_s 0: every visit
	// counts), or the clear error an impossible one gets (exponent 0).
	var given siteGiven
	json.Unmarshal(data, &given) // decoded above: it cannot fail
	s.fillDefaults(&given)
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := s.CheckPlan(); err != nil {
		return nil, err
	}
	return &s, nil
}

func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: want %s, got JSON %s", te.Field, te.Type, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not valid JSON at byte %d: %w", se.Offset, err)
	}
	return err
}

// yamlToJSON turns YAML maps with any keys into JSON objects.
func yamlToJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = yamlToJSON(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = yamlToJSON(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = yamlToJSON(e)
		}
		return t
	}
	return v
}

// siteGiven says which defaulted fields a site file gives.
type siteGiven struct {
	Radio struct {
		RSSI1m   *float64 `json:"rssi_1m"`
		Exponent *float64 `json:"exponent"`
	} `json:"radio"`
	Footfall struct {
		VisitorMinDwellS *float64 `json:"visitor_min_dwell_s"`
		VisitGapS        *float64 `json:"visit_gap_s"`
		StaffMinDwellS   *float64 `json:"staff_min_dwell_s"`
	} `json:"footfall"`
}

// fillDefaults fills the fields the file did not give (g); the extensions
// phone_z and history_days also when 0.
func (s *Site) fillDefaults(g *siteGiven) {
	if g.Radio.RSSI1m == nil {
		s.Radio.RSSI1m = DefaultRSSI1m
	}
	if g.Radio.Exponent == nil {
		s.Radio.Exponent = DefaultExponent
	}
	if s.Radio.PhoneZ == 0 {
		s.Radio.PhoneZ = DefaultPhoneZ
	}
	f := &s.Footfall
	if g.Footfall.VisitorMinDwellS == nil {
		f.VisitorMinDwellS = DefaultVisitorDwell
	}
	if g.Footfall.VisitGapS == nil {
		f.VisitGapS = DefaultVisitGap
	}
	if g.Footfall.StaffMinDwellS == nil {
		f.StaffMinDwellS = DefaultStaffDwell
	}
	if f.HistoryDays == 0 {
		f.HistoryDays = DefaultHistoryDays
	}
}

// MarshalSite writes the site as indented JSON.
func MarshalSite(s *Site) ([]byte, error) {
	return json.MarshalIndent(s, "", "  ")
}
