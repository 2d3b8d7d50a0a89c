package modes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Parameter types beside int and float. Every setting is kept as a number (run.json's settings, --config, the
// prompts): a duration in seconds, a size in bytes, a choice as the index of its value in Values. Flags, --set and
// plugins.yaml take them in their natural form ("30s", "2KiB", "secret").
const (
	TypeInt      = "int"
	TypeFloat    = "float"
	TypeDuration = "duration" // seconds; written 30s, 1m30s or a number of seconds
	TypeSize     = "size"     // bytes; written 2KiB, 2Ki, 512 or 1k
	TypeChoice   = "choice"   // one of Values
)

// UnmarshalJSON reads a parameter; default, min and max may be written in the type's own form ("30s", "2KiB",
// "configmap"). A choice's min and max are implied by its values.
func (p *Parameter) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name    string          `json:"name"`
		Type    string          `json:"type"`
		Default json.RawMessage `json:"default"`
		Min     json.RawMessage `json:"min"`
		Max     json.RawMessage `json:"max"`
		Values  []string        `json:"values"`
		Help    string          `json:"help"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	*p = Parameter{Name: raw.Name, Type: raw.Type, Values: raw.Values, Help: raw.Help}
	if p.Type == TypeChoice {
		p.Min, p.Max = 0, float64(len(p.Values)-1)
		if len(raw.Min) > 0 || len(raw.Max) > 0 {
			return fmt.Errorf("parameter %q: a choice takes values, not min and max", p.Name)
		}
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *float64
	}{{"default", raw.Default, &p.Default}, {"min", raw.Min, &p.Min}, {"max", raw.Max, &p.Max}} {
		if len(f.raw) == 0 {
			continue
		}
		var s string
		if err := json.Unmarshal(f.raw, &s); err != nil {
			s = string(f.raw) // a number
		}
		v, err := p.value(s)
		if err != nil {
			return fmt.Errorf("parameter %q: %s %q: %v", p.Name, f.name, s, err)
		}
		*f.dst = v
	}
	return nil
}

// value parses s in the parameter's form, without bounds.
func (p *Parameter) value(s string) (float64, error) {
	s = strings.TrimSpace(s)
	switch p.Type {
	case TypeDuration:
		if d, err := time.ParseDuration(s); err == nil {
			return d.Seconds(), nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("not a duration (30s, 1m) or a number of seconds")
		}
		return v, nil
	case TypeSize:
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			return v, nil
		}
		q, err := resource.ParseQuantity(strings.TrimSuffix(strings.TrimSuffix(s, "B"), "b"))
		if err != nil {
			return 0, fmt.Errorf("not a size (2KiB, 512, 1Mi)")
		}
		return float64(q.Value()), nil
	case TypeChoice:
		i := slices.Index(p.Values, strings.ToLower(s))
		if i < 0 {
			return 0, fmt.Errorf("must be one of %s", strings.Join(p.Values, ", "))
		}
		return float64(i), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	return v, nil
}

// Format writes a setting in the parameter's form: "30s", "2KiB", "secret", "50".
func (p *Parameter) Format(v float64) string {
	switch p.Type {
	case TypeDuration:
		return (time.Duration(v * float64(time.Second))).String()
	case TypeSize:
		n := int64(v)
		switch {
		case n >= 1<<20 && n%(1<<20) == 0:
			return fmt.Sprintf("%dMiB", n>>20)
		case n >= 1<<10 && n%(1<<10) == 0:
			return fmt.Sprintf("%dKiB", n>>10)
		}
		return strconv.FormatInt(n, 10)
	case TypeChoice:
		if i := int(v); i >= 0 && i < len(p.Values) && float64(i) == v {
			return p.Values[i]
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Allowed says what the parameter accepts, for help texts: "int, 1..1000", "duration, 0s..1h0m0s",
// "one of configmap, secret".
func (p *Parameter) Allowed() string {
	if p.Type == TypeChoice {
		return "one of " + strings.Join(p.Values, ", ")
	}
	return fmt.Sprintf("%s, %s..%s", p.Type, p.Format(p.Min), p.Format(p.Max))
}

// validateType checks what only the new types need: a choice's values, whole bounds of a size.
func (p *Parameter) validateType() error {
	switch p.Type {
	case TypeChoice:
		if len(p.Values) < 1 {
			return fmt.Errorf("values: a choice needs at least one value")
		}
		for _, v := range p.Values {
			if !nameRE.MatchString(v) {
				return fmt.Errorf("values: %q must be lowercase letters and digits", v)
			}
		}
	case TypeSize:
		if p.Default != math.Trunc(p.Default) || p.Min != math.Trunc(p.Min) || p.Max != math.Trunc(p.Max) {
			return fmt.Errorf("a size parameter needs whole default, min and max")
		}
	}
	return nil
}
