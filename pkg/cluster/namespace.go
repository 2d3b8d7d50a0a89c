package cluster

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The names of what a run creates. Every name starts with "pyrometer-" and holds the run id, so that two runs never
// collide and a person can tell whose namespace it is.

// ProbeNamespace is the namespace of run runID's probe objects (and of the in-cluster probe's pod).
func ProbeNamespace(runID string) string { return "pyrometer-" + runID }

// StepNamespace is the namespace of ramp step (1-based) of run runID: the stress objects of that step.
func StepNamespace(runID string, step int) string {
	return fmt.Sprintf("pyrometer-%s-step-%d", runID, step)
}

// ProbePrefix prefixes the names of the objects the local probe creates in the probe namespace.
const ProbePrefix = "pyrometer-probe"

// ClusterProbeName is the name of run runID's in-cluster probe (its Job, ServiceAccount and RBAC).
func ClusterProbeName(runID string) string { return ProbePrefix + "-" + runID }

// PodSecurityEnforceLabel is the Pod Security admission label every namespace of a run carries, set to
// "restricted": what the plugin schedules there must run without privileges.
const PodSecurityEnforceLabel = "pod-security.kubernetes.io/enforce"

// ErrNamespaceExists is returned by CreateNamespace when the namespace exists already: another process uses the same
// run id (names hold the run id), and what is in it is not ours to delete.
var ErrNamespaceExists = errors.New("namespace exists already")

// Namespace is a namespace a run creates.
type Namespace struct {
	Name      string
	RunID     string
	Component string // ComponentLabel: probe, stress
	Owner     string // the identity creating it (WhoAmI), recorded in OwnerAnnotation; "" records nothing
}

// Object is the namespace as created: the run's labels (managed-by, run id, component), Pod Security "restricted"
// enforced, and the owner annotation.
func (n Namespace) Object() *corev1.Namespace {
	labels := Labels(n.RunID, n.Component)
	labels[PodSecurityEnforceLabel] = "restricted"
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels, Annotations: Annotations(n.Owner)}}
}

// CreateNamespace creates n. An existing namespace of that name is an error wrapping ErrNamespaceExists that says
// which run id is in use twice; any other failure names the namespace.
func CreateNamespace(ctx context.Context, c kubernetes.Interface, n Namespace) error {
	_, err := c.CoreV1().Namespaces().Create(ctx, n.Object(), metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: it exists already: another run uses run id %s: %w", n.Name, n.RunID, ErrNamespaceExists)
	}
	if err != nil {
		return fmt.Errorf("failed to create namespace %s: %w", n.Name, err)
	}
	return nil
}

// PullSecrets are the image pull Secrets (--image-pull-secret) a run copies into each namespace it creates, before
// any pod exists there, from the namespace they are read from (the current namespace).
type PullSecrets struct {
	Names     []string
	Namespace string
}

// CopyPullSecrets copies ps into namespace ns, labelled as run runID's (component "pull-secret"): only the Secret's
// type and data, no other metadata of the original.
func CopyPullSecrets(ctx context.Context, c kubernetes.Interface, runID string, ps PullSecrets, ns string) error {
	for _, name := range ps.Names {
		src, err := c.CoreV1().Secrets(ps.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("failed to read image pull secret %s/%s: %w", ps.Namespace, name, err)
		}
		cp := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: Labels(runID, "pull-secret")}, Type: src.Type, Data: src.Data}
		if _, err := c.CoreV1().Secrets(ns).Create(ctx, cp, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("failed to copy image pull secret %s into %s: %w", name, ns, err)
		}
	}
	return nil
}
