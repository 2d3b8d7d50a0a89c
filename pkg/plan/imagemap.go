package plan

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
		from, to, ok := strings.Cut(line, "=")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || to == "" || strings.ContainsAny(from+to, " \t=") {
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

// Rewrite returns the replacement of image, or image itself.
func (m ImageMap) Rewrite(image string) string {
	if r, ok := m[image]; ok {
		return r
	}
	return image
}
