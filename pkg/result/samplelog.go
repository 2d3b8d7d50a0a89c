package result

import (
	"math"
	"sync"
	"time"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/probe"
)

// SampleLog keeps what the sparklines and charts draw of each sample (time, kind, source, latency, failed or
// not) in 16 bytes, where a probe.Sample costs 160 plus its strings: for a probe whose samples are not written
// to probe.jsonl. It is a SampleSource whose samples carry only those fields (Error is "error" when the
// request failed). It is safe for concurrent use.
type SampleLog struct {
	mu     sync.Mutex
	chunks [][]logRecord
	n      int
	keys   []logKey
	index  map[logKey]uint16
	exact  map[int]float64 // latencies that are not whole µs (never from the prober), by record number
}

type logRecord struct {
	ts     int64  // Unix ns
	us     uint32 // latency, µs
	key    uint16 // kind and source, in keys
	failed bool
}

type logKey struct {
	kind   probe.Kind
	source string
}

const logChunk = 1 << 16 // records per chunk: the log grows without copying what it holds

// Add records s.
func (l *SampleLog) Add(s probe.Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := logKey{s.Kind, s.Source}
	i, ok := l.index[k]
	if !ok {
		if len(l.keys) > math.MaxUint16 {
			return // more than 65536 kinds: not a probe
		}
		if l.index == nil {
			l.index = map[logKey]uint16{}
		}
		i = uint16(len(l.keys))
		l.index[k] = i
		l.keys = append(l.keys, k)
	}
	rec := logRecord{ts: s.TS.UnixNano(), key: i, failed: s.Error != ""}
	if u := math.Round(s.LatencyMS * 1000); s.LatencyMS >= 0 && u <= math.MaxUint32 && u/1000 == s.LatencyMS {
		rec.us = uint32(u)
	} else {
		if l.exact == nil {
			l.exact = map[int]float64{}
		}
		l.exact[l.n] = s.LatencyMS
	}
	if l.n%logChunk == 0 {
		l.chunks = append(l.chunks, make([]logRecord, 0, logChunk))
	}
	c := len(l.chunks) - 1
	l.chunks[c] = append(l.chunks[c], rec)
	l.n++
}

// Len is the number of samples recorded.
func (l *SampleLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Each calls fn for every recorded sample, in the order they were added.
func (l *SampleLog) Each(fn func(probe.Sample) error) error {
	l.mu.Lock()
	chunks, keys, n := make([][]logRecord, len(l.chunks)), append([]logKey(nil), l.keys...), 0
	for i, c := range l.chunks {
		chunks[i] = c[:len(c):len(c)]
	}
	l.mu.Unlock()
	for _, c := range chunks {
		for _, rec := range c {
			k := keys[rec.key]
			s := probe.Sample{TS: time.Unix(0, rec.ts), Kind: k.kind, Source: k.source, LatencyMS: float64(rec.us) / 1000}
			if rec.failed {
				s.Error = "error"
			}
			if v, ok := l.exactAt(n); ok {
				s.LatencyMS = v
			}
			n++
			if err := fn(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *SampleLog) exactAt(i int) (float64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.exact[i]
	return v, ok
}
