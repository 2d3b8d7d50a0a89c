package interactive

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// Setting is one mode setting changed at a prompt.
type Setting struct {
	Mode  string  `json:"mode"`
	Param string  `json:"param"`
	Value float64 `json:"value"`
}

// ModeChoices are the answers of the mode prompts (-c).
type ModeChoices struct {
	Modes           []string      `json:"modes"`
	Edited          []Setting     `json:"edited,omitempty"`
	Monitor         bool          `json:"monitor"`
	MonitorInterval time.Duration `json:"monitorInterval,omitempty"`
}

// ModeState is what the mode prompts start from: the modes enabled and every mode's current settings (from the
// flags, the config file, the profile or the defaults), and the monitor.
type ModeState struct {
	Enabled         []string
	Values          map[string]map[string]float64 // mode -> parameter -> value, for every mode of the catalogue
	Monitor         bool
	MonitorInterval time.Duration
}

// ChooseModes asks, for every mode of the catalogue in order, whether to enable it and whether to edit its
// settings (each shown with its current value and bounds; a value out of bounds is asked again with the reason),
// then whether to record the cluster monitor and how often. At least one mode must be enabled.
func ChooseModes(p Prompter, cat *modes.Catalog, st ModeState) (*ModeChoices, error) {
	for {
		ch := &ModeChoices{}
		for _, m := range cat.Modes {
			on, err := p.Confirm(fmt.Sprintf("Enable %s contention?", m.Name),
				fmt.Sprintf("%s (%s plane; now %s)", m.Description, m.Plane, FormatSettings(m, st.Values[m.Name])), slices.Contains(st.Enabled, m.Name))
			if err != nil {
				return nil, err
			}
			if !on {
				continue
			}
			ch.Modes = append(ch.Modes, m.Name)
			if len(m.Parameters) == 0 {
				continue
			}
			edit, err := p.Confirm(fmt.Sprintf("Edit %s settings for this run?", m.Name), FormatSettings(m, st.Values[m.Name]), false)
			if err != nil {
				return nil, err
			}
			if !edit {
				continue
			}
			for i := range m.Parameters {
				prm := &m.Parameters[i]
				cur := st.Values[m.Name][prm.Name]
				curText := prm.Format(cur) // "30s", "2KiB", "configmap", "50"
				var v float64
				_, err := ask(p, fmt.Sprintf("%s %s:", m.Name, prm.Name),
					fmt.Sprintf("%s (%s; Enter keeps %s)", prm.Help, prm.Allowed(), curText), curText,
					func(s string) error {
						var err error
						v, err = prm.Parse(s)
						return err
					})
				if err != nil {
					return nil, err
				}
				if v != cur {
					ch.Edited = append(ch.Edited, Setting{Mode: m.Name, Param: prm.Name, Value: v})
				}
			}
		}
		if len(ch.Modes) == 0 {
			p.Say("  ✗ no mode enabled: a run needs at least one; asking again")
			continue
		}
		var err error
		ch.Monitor, err = p.Confirm("Record the cluster monitor?",
			"node and pod usage (metrics API), node conditions and events into monitor.jsonl", st.Monitor)
		if err != nil {
			return nil, err
		}
		if ch.Monitor {
			_, err := ask(p, "Monitor interval:", fmt.Sprintf("time between two snapshots, 1s..1h, e.g. 5s (Enter keeps %v)", st.MonitorInterval),
				st.MonitorInterval.String(), func(s string) error {
					d, err := parseInterval(s)
					ch.MonitorInterval = d
					return err
				})
			if err != nil {
				return nil, err
			}
		}
		return ch, nil
	}
}

// parseInterval accepts a duration (5s, 1m) or a number of seconds (5), between 1s and 1h.
func parseInterval(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, errors.New("must be a duration such as 5s or 1m, or a number of seconds")
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < time.Second || d > time.Hour {
		return 0, errors.New("must be between 1s and 1h")
	}
	return d, nil
}

// ImageChoices are the answers of the image prompts (-r).
type ImageChoices struct {
	Registry    string            `json:"registry,omitempty"`
	Rewrites    map[string]string `json:"rewrites,omitempty"` // original -> replacement, for images rewritten now or before
	PullSecrets []string          `json:"pullSecrets,omitempty"`
}

// ImageState is what the image prompts start from.
type ImageState struct {
	Images      []string            // every image the run uses, as the catalogue and --probe-image name them
	Current     func(string) string // the replacement in force (--image-map, --image-rewrite), or the image itself
	PullSecrets []string
	Namespace   string // where the pull secrets must exist
	// SecretExists checks one pull secret (nil: it exists); a person is asked again when it fails.
	SecretExists func(name string) error
}

// clearWords clear an optional answer.
var clearWords = []string{"-", "none"}

// ChooseImages asks for a registry prefix applied to every image (blank: none), then for each image its
// replacement (the prefix applied, or the current rewrite, is the default), then the pull secrets, each checked
// to exist in the namespace the run copies them from.
func ChooseImages(p Prompter, st ImageState) (*ImageChoices, error) {
	ch := &ImageChoices{Rewrites: map[string]string{}}
	desc := "rewrites every image's registry: " + strings.Join(st.Images, ", ") + " (Enter: none)"
	reg, err := ask(p, "Registry prefix for all images:", desc, "", func(s string) error {
		if slices.Contains(clearWords, s) || s == "" {
			return nil
		}
		return checkImage(strings.TrimSuffix(s, "/"))
	})
	if err != nil {
		return nil, err
	}
	if !slices.Contains(clearWords, reg) {
		ch.Registry = strings.TrimSuffix(reg, "/")
	}
	for _, img := range st.Images {
		def := st.Current(img)
		if ch.Registry != "" {
			def = WithRegistry(img, ch.Registry)
		}
		got, err := ask(p, "Image for "+img+":", "the reference nodes pull instead (Enter keeps "+def+")", def, checkImage)
		if err != nil {
			return nil, err
		}
		if got != img || st.Current(img) != img { // also "back to the original" over an --image-map entry
			ch.Rewrites[img] = got
		}
	}
	def := strings.Join(st.PullSecrets, ",")
	shown := def
	if shown == "" {
		shown = "none"
	}
	secrets, err := ask(p, "Image pull secrets:",
		fmt.Sprintf("Secrets in namespace %s, comma separated, copied into the run's namespaces (Enter keeps %s; - for none)", st.Namespace, shown),
		def, func(s string) error {
			if slices.Contains(clearWords, s) || s == "" {
				return nil
			}
			for _, n := range splitList(s) {
				if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
					return fmt.Errorf("%s is not a valid Secret name", n)
				}
				if st.SecretExists != nil {
					if err := st.SecretExists(n); err != nil {
						return err
					}
				}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	if !slices.Contains(clearWords, secrets) {
		ch.PullSecrets = splitList(secrets)
	}
	return ch, nil
}

// WithRegistry puts image under registry: the image's own registry host (a first path component with a dot or a
// colon, or localhost; docker.io when there is none) is replaced, the repository path and tag or digest are kept:
// docker.io/library/busybox:1.36.1 under registry.example.com/mirror is registry.example.com/mirror/library/busybox:1.36.1.
func WithRegistry(image, registry string) string {
	first, rest, ok := strings.Cut(image, "/")
	path := image
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		path = rest
	}
	if !strings.Contains(path, "/") && !ok {
		path = "library/" + path // busybox:1.36 is docker.io/library/busybox:1.36
	}
	return registry + "/" + path
}

// checkImage accepts a plausible image reference: no spaces, no '=', not starting with '-' or '/'.
func checkImage(s string) error {
	switch {
	case s == "":
		return errors.New("an image reference is required")
	case strings.ContainsAny(s, " \t="):
		return errors.New("an image reference has no spaces and no '='")
	case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.HasSuffix(s, ":"):
		return errors.New("not an image reference (e.g. registry.example.com/library/busybox:1.36.1)")
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// FormatSettings is "replicas=1, millicores=50" in the mode's parameter order.
func FormatSettings(m *modes.Mode, values map[string]float64) string {
	var parts []string
	for _, p := range m.Parameters {
		parts = append(parts, p.Name+"="+p.Format(values[p.Name]))
	}
	return strings.Join(parts, ", ")
}

// Summary is what the run will do, as chosen: every mode on or off with its settings, the monitor, the images and
// the pull secrets.
type Summary struct {
	Catalog         *modes.Catalog
	Enabled         []string
	Values          map[string]map[string]float64
	Monitor         bool
	MonitorInterval time.Duration
	Images          map[string]string // original -> used (equal when not rewritten)
	PullSecrets     []string
}

// Write prints the summary, in the seed's layout.
func (s Summary) Write(w io.Writer) {
	fmt.Fprintln(w, ">>> Contention modes:")
	width := len("monitor")
	for _, m := range s.Catalog.Modes {
		width = max(width, len(m.Name))
	}
	for _, m := range s.Catalog.Modes {
		state := "off"
		if slices.Contains(s.Enabled, m.Name) {
			state = "on "
		}
		fmt.Fprintf(w, "    %-*s = %s  (%s)\n", width, m.Name, state, FormatSettings(m, s.Values[m.Name]))
	}
	if s.Monitor {
		fmt.Fprintf(w, "    %-*s = on   (interval=%v)\n", width, "monitor", s.MonitorInterval)
	} else {
		fmt.Fprintf(w, "    %-*s = off\n", width, "monitor")
	}
	if len(s.Images) > 0 {
		fmt.Fprintln(w, ">>> Images:")
		keys := make([]string, 0, len(s.Images))
		for k := range s.Images {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if s.Images[k] == k {
				fmt.Fprintf(w, "    %s\n", k)
			} else {
				fmt.Fprintf(w, "    %s -> %s\n", k, s.Images[k])
			}
		}
	}
	ps := "none"
	if len(s.PullSecrets) > 0 {
		ps = strings.Join(s.PullSecrets, ", ")
	}
	fmt.Fprintf(w, ">>> Image pull secrets: %s\n", ps)
}
