package safety

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Capacity is what the nodes the stress pods can land on have free: the allocatable CPU, memory and pod slots of
// the Ready, schedulable (not cordoned) nodes that match the run's --node-selector and carry no NoSchedule or
// NoExecute taint (the stress pods tolerate none), minus what the non-terminated pods on them already request.
type Capacity struct {
	Nodes        int      `json:"nodes"`
	CPUMillis    int64    `json:"cpuMillis"`
	MemoryMi     int64    `json:"memoryMi"`
	Pods         int      `json:"pods"`
	Excluded     []string `json:"excluded,omitempty"` // "node: why", e.g. "kwok-0: taint kwok.x-k8s.io/node=fake:NoSchedule"
	NodeSelector string   `json:"nodeSelector,omitempty"`
	// PerNode is what each of those nodes has free, by name (the safety plan packs the run's pods onto it). nil
	// when unknown: then only the sums are checked.
	PerNode []NodeFree `json:"perNode,omitempty"`
}

// where describes the nodes, e.g. "1 schedulable node (pool=load)".
func (c Capacity) where() string {
	s := fmt.Sprintf("%d schedulable node", c.Nodes)
	if c.Nodes != 1 {
		s += "s"
	}
	if c.NodeSelector != "" {
		s += " (" + c.NodeSelector + ")"
	}
	return s
}

// ReadCapacity reads the nodes and the pods bound to them (no writes) and returns the free capacity of the nodes the
// run's pods may be scheduled on.
func ReadCapacity(ctx context.Context, client kubernetes.Interface, nodeSelector map[string]string) (Capacity, error) {
	c := Capacity{}
	if len(nodeSelector) > 0 {
		c.NodeSelector = labels.SelectorFromSet(nodeSelector).String()
	}
	var nodes []corev1.Node
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := client.CoreV1().Nodes().List(ctx, opts)
		if err != nil {
			return Capacity{}, fmt.Errorf("failed to list nodes: %w", err)
		}
		nodes = append(nodes, l.Items...)
		if opts.Continue = l.Continue; opts.Continue == "" {
			break
		}
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	type free struct {
		cpu, mem resource.Quantity
		pods     int64
	}
	usable := map[string]*free{}
	var names []string
	sel := labels.SelectorFromSet(nodeSelector)
	for i := range nodes {
		n := &nodes[i]
		if why := excluded(n, sel); why != "" {
			c.Excluded = append(c.Excluded, n.Name+": "+why)
			continue
		}
		f := &free{cpu: n.Status.Allocatable[corev1.ResourceCPU].DeepCopy(), mem: n.Status.Allocatable[corev1.ResourceMemory].DeepCopy()}
		f.pods = n.Status.Allocatable.Pods().Value()
		usable[n.Name] = f
		names = append(names, n.Name)
	}
	if len(usable) > 0 {
		opts := metav1.ListOptions{Limit: 500, FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"}
		for {
			l, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
			if err != nil {
				return Capacity{}, fmt.Errorf("failed to list pods: %w", err)
			}
			for i := range l.Items {
				p := &l.Items[i]
				f := usable[p.Spec.NodeName]
				if f == nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
					continue
				}
				cpu, mem := podRequests(p)
				f.cpu.Sub(cpu)
				f.mem.Sub(mem)
				f.pods--
			}
			if opts.Continue = l.Continue; opts.Continue == "" {
				break
			}
		}
	}
	c.PerNode = []NodeFree{}
	for _, name := range names {
		f := usable[name]
		n := NodeFree{Name: name, CPUMillis: max(0, f.cpu.MilliValue()), MemoryMi: max(0, f.mem.Value()>>20), Pods: max(0, f.pods)}
		c.PerNode = append(c.PerNode, n)
		c.Nodes++
		c.CPUMillis += n.CPUMillis
		c.MemoryMi += n.MemoryMi
		c.Pods += int(n.Pods)
	}
	return c, nil
}

// excluded says why the run's pods cannot land on n ("" when they can).
func excluded(n *corev1.Node, sel labels.Selector) string {
	if !sel.Matches(labels.Set(n.Labels)) {
		return "does not match --node-selector"
	}
	if n.Spec.Unschedulable {
		return "cordoned"
	}
	ready := false
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = c.Status == corev1.ConditionTrue
		}
	}
	if !ready {
		return "not Ready"
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return "taint " + t.ToString()
		}
	}
	return ""
}

// podRequests is what the scheduler reserves for p: pod-level requests when set, else the larger of the containers
// (with the sidecars) and the largest init container (with the sidecars started before it), plus the overhead.
func podRequests(p *corev1.Pod) (cpu, mem resource.Quantity) {
	get := func(rl corev1.ResourceList, name corev1.ResourceName) resource.Quantity {
		return rl[name].DeepCopy()
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		var q resource.Quantity
		if p.Spec.Resources != nil {
			if v, ok := p.Spec.Resources.Requests[name]; ok {
				q = v.DeepCopy()
			}
		}
		if q.IsZero() {
			var run, sidecars resource.Quantity
			for _, c := range p.Spec.Containers {
				run.Add(get(c.Resources.Requests, name))
			}
			initMax := resource.Quantity{}
			for _, c := range p.Spec.InitContainers {
				r := get(c.Resources.Requests, name)
				if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
					sidecars.Add(r)
					r = sidecars.DeepCopy()
				} else {
					r.Add(sidecars)
				}
				if r.Cmp(initMax) > 0 {
					initMax = r
				}
			}
			run.Add(sidecars)
			q = run
			if initMax.Cmp(q) > 0 {
				q = initMax
			}
		}
		q.Add(get(p.Spec.Overhead, name))
		if name == corev1.ResourceCPU {
			cpu = q
		} else {
			mem = q
		}
	}
	return cpu, mem
}
