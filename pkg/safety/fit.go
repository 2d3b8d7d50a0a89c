package safety

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/modes"
)

// CheckFit is the check that every pod of the run can be placed: each pod fits on some node, and all of them
// together when packed first-fit-decreasing onto the nodes' free capacity. The sums of the cpu, memory and
// pod-slots checks are not enough: 4 pods of 1000m fit in 4 x 1500m free, one pod of 4000m does not.
const CheckFit = "fit"

// NodeFree is what one node the run's pods may land on has free (allocatable minus the requests already there).
type NodeFree struct {
	Name      string `json:"name"`
	CPUMillis int64  `json:"cpuMillis"`
	MemoryMi  int64  `json:"memoryMi"`
	Pods      int64  `json:"pods"`
}

// PodShape is Count pods of the run with the same requests.
type PodShape struct {
	Mode      string `json:"mode"`
	Part      string `json:"part,omitempty"` // which of the mode's pods, when it has several (network: net-server, net-client)
	Count     int    `json:"count"`
	CPUMillis int64  `json:"cpuMillis"`
	MemoryMi  int64  `json:"memoryMi"`
}

// name is "cpu pod", "cpu pods" (n > 1), "network pod (net-server)".
func (s PodShape) name(n int) string {
	w := s.Mode + " pod"
	if n != 1 {
		w += "s"
	}
	if s.Part != "" {
		w += " (" + s.Part + ")"
	}
	return w
}

func (s PodShape) requests() string {
	return fmt.Sprintf("%dm cpu, %dMi memory", s.CPUMillis, s.MemoryMi)
}

// RunPods lists the pods of all steps of sel (steps are cumulative), grouped by their requests.
func RunPods(sel *modes.Selection, steps int) ([]PodShape, error) {
	var out []PodShape
	for _, m := range sel.Modes {
		set := sel.Settings[m.Name]
		iter, err := m.Job.Iterations.Eval(set)
		if err != nil {
			return nil, fmt.Errorf("mode %s: job.iterations: %w", m.Name, err)
		}
		podObjects := 0
		for _, o := range m.Objects {
			if p, _ := o.Pods.Eval(set); p > 0 {
				podObjects++
			}
		}
		for _, o := range m.Objects {
			var r, pods, cpu, mem float64
			for _, e := range []struct {
				dst *float64
				v   modes.Value
			}{{&r, o.Replicas}, {&pods, o.Pods}, {&cpu, o.CPUMillis}, {&mem, o.MemoryMi}} {
				if *e.dst, err = e.v.Eval(set); err != nil {
					return nil, fmt.Errorf("mode %s: %s: %w", m.Name, o.Template, err)
				}
			}
			n := int(iter*r) * int(pods) * steps
			if n <= 0 {
				continue
			}
			part := ""
			if podObjects > 1 {
				part = strings.TrimPrefix(strings.TrimSuffix(o.Template, ".yaml"), "pyrometer-")
			}
			out = append(out, PodShape{Mode: m.Name, Part: part, Count: n, CPUMillis: int64(math.Ceil(cpu)), MemoryMi: int64(math.Ceil(mem))})
		}
	}
	return out, nil
}

// fitCheck packs pods first-fit-decreasing (largest CPU request first, then memory) onto nodes (in their order),
// a pod taking a node only when its CPU, its memory and a pod slot are all free there, as the scheduler requires.
// The message names the first pod (in that order) that does not fit, and where the most was free.
func fitCheck(pods []PodShape, nodes []NodeFree, on string) PlanCheck {
	total := 0
	for _, p := range pods {
		total += p.Count
	}
	c := PlanCheck{Name: CheckFit, Value: int64(total)}
	if total == 0 {
		c.OK, c.Message = true, "fit: the run creates no pods"
		return c
	}
	order := append([]PodShape(nil), pods...)
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].CPUMillis != order[j].CPUMillis {
			return order[i].CPUMillis > order[j].CPUMillis
		}
		return order[i].MemoryMi > order[j].MemoryMi
	})
	free := append([]NodeFree(nil), nodes...)
	placed, firstFail, failMsg := 0, -1, ""
	for i, p := range order {
		left := p.Count
		alone := false // fits on some node when nothing of the run is placed yet
		for _, n := range nodes {
			alone = alone || fitsOn(p, n) > 0
		}
		if alone {
			for k := range free {
				if left == 0 {
					break
				}
				take := min(int64(left), fitsOn(p, free[k]))
				free[k].CPUMillis -= take * p.CPUMillis
				free[k].MemoryMi -= take * p.MemoryMi
				free[k].Pods -= take
				left -= int(take)
			}
		}
		placed += p.Count - left
		if left == 0 || firstFail >= 0 {
			continue
		}
		firstFail = i
		if !alone {
			failMsg = fmt.Sprintf("%s (%s) fits on no node: %s", p.name(1), p.requests(), largestFree(p, nodes))
		} else {
			failMsg = fmt.Sprintf("%d of %d %s (%s) do not fit when the run's %d pods are packed first-fit-decreasing onto %s: %s",
				left, p.Count, p.name(p.Count), p.requests(), total, on, largestFree(p, free))
		}
	}
	c.Limit = int64(placed)
	if firstFail < 0 {
		c.OK = true
		c.Message = fmt.Sprintf("fit: the run's %d pods fit when packed first-fit-decreasing onto the free capacity of %s", total, on)
		return c
	}
	c.Message = fmt.Sprintf("fit: %s; %d of %d pods fit in all", failMsg, placed, total)
	return c
}

// fitsOn is how many pods of shape p fit in n.
func fitsOn(p PodShape, n NodeFree) int64 {
	k := n.Pods
	if p.CPUMillis > 0 {
		k = min(k, n.CPUMillis/p.CPUMillis)
	}
	if p.MemoryMi > 0 {
		k = min(k, n.MemoryMi/p.MemoryMi)
	}
	return max(k, 0)
}

// largestFree names, for each resource p needs more of than any node has free, the node with the most of it
// ("largest free cpu 1500m on node-a"); when no single resource is short everywhere, it says so.
func largestFree(p PodShape, nodes []NodeFree) string {
	if len(nodes) == 0 {
		return "no schedulable node"
	}
	best := func(get func(NodeFree) int64) NodeFree {
		b := nodes[0]
		for _, n := range nodes[1:] {
			if get(n) > get(b) {
				b = n
			}
		}
		return b
	}
	var short []string
	if b := best(func(n NodeFree) int64 { return n.CPUMillis }); b.CPUMillis < p.CPUMillis {
		short = append(short, fmt.Sprintf("largest free cpu %dm on %s", max(b.CPUMillis, 0), b.Name))
	}
	if b := best(func(n NodeFree) int64 { return n.MemoryMi }); b.MemoryMi < p.MemoryMi {
		short = append(short, fmt.Sprintf("largest free memory %dMi on %s", max(b.MemoryMi, 0), b.Name))
	}
	if b := best(func(n NodeFree) int64 { return n.Pods }); b.Pods < 1 {
		short = append(short, "no free pod slot on any node")
	}
	if len(short) == 0 {
		return "no node has the cpu, the memory and a pod slot free at once"
	}
	return strings.Join(short, ", ")
}
