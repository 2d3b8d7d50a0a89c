package cluster

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// The plugin's own pods (in-cluster probe, load workers, kwok controller) run in namespaces that enforce Pod
// Security "restricted" (namespace.go): these are the security contexts that standard admits.

// RestrictedPodSecurity is a pod security context for uid (and gid) uid: non-root, RuntimeDefault seccomp.
func RestrictedPodSecurity(uid int64) *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(uid), RunAsGroup: ptr.To(uid),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
}

// RestrictedContainerSecurity is a container security context: no privilege escalation, not privileged, every
// capability dropped, a read-only root file system.
func RestrictedContainerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Privileged: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
}
