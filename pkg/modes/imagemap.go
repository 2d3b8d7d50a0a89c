package modes

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// ImageMap rewrites image references (--image-map FILE: "original = replacement" lines, # comments).
type ImageMap map[string]string

// ParseImageMap reads an image map file; a malformed line is rejected with its number.
func ParseImageMap(path string) (ImageMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("invalid --image-map: %w", err)
	}
	defer f.Close()
	m := ImageMap{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		from, to, ok := cutRewrite(line)
		if !ok {
			return nil, fmt.Errorf("invalid --image-map %s:%d: want `original = replacement`, got %q", path, n, line)
		}
		if _, dup := m[from]; dup {
			return nil, fmt.Errorf("invalid --image-map %s:%d: %s is mapped twice", path, n, from)
		}
		m[from] = to
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("invalid --image-map %s: %w", path, err)
	}
	return m, nil
}

// AddRewrites applies --image-rewrite ORIGINAL=REPLACEMENT values over the map (they win over --image-map lines).
func (m ImageMap) AddRewrites(rewrites []string) error {
	for _, r := range rewrites {
		from, to, ok := cutRewrite(r)
		if !ok {
			return fmt.Errorf("invalid --image-rewrite %q: want ORIGINAL=REPLACEMENT, e.g. docker.io/library/busybox:1.36.1=registry.example.com/busybox:1.36.1", r)
		}
		m[from] = to
	}
	return nil
}

func cutRewrite(s string) (from, to string, ok bool) {
	from, to, ok = strings.Cut(s, "=")
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	return from, to, ok && from != "" && to != "" && !strings.ContainsAny(from+to, " \t=")
}

// Rewrite returns the replacement of image, or image itself.
func (m ImageMap) Rewrite(image string) string {
	if r, ok := m[image]; ok {
		return r
	}
	return image
}
