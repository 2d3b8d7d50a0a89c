package churn

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Kind is the kind of object the engine churns.
type Kind string

const (
	ConfigMap Kind = "configmap"
	Secret    Kind = "secret"
)

// Kinds lists the valid Kind values.
var Kinds = []Kind{ConfigMap, Secret}

// GenAnnotation carries an object's generation: "0" as created, "k" after its k-th update. The watch side matches
// each notification to the write that produced it by name and generation.
const GenAnnotation = "kubepyrometer.io/churn-gen"

// PayloadKey is the data key holding the payload.
const PayloadKey = "payload"

// objects is the typed client of one kind in one namespace.
type objects interface {
	create(ctx context.Context, meta metav1.ObjectMeta, payload []byte) error
	patch(ctx context.Context, name string, patch []byte) error
	delete(ctx context.Context, name string) error
	list(ctx context.Context, opts metav1.ListOptions) (rv string, items []metav1.ObjectMeta, err error)
	watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	deleteCollection(ctx context.Context, opts metav1.ListOptions) error
}

func objectsFor(c kubernetes.Interface, kind Kind, ns string) objects {
	if kind == Secret {
		return secrets{c.CoreV1().Secrets(ns)}
	}
	return configMaps{c.CoreV1().ConfigMaps(ns)}
}

// genPatch is the merge patch of update gen: only the generation annotation changes (the whole object, payload
// included, is still rewritten in storage and sent to every watcher).
func genPatch(gen int) []byte {
	return fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, GenAnnotation, strconv.Itoa(gen))
}

// genOf reads the generation annotation (-1 when absent or invalid).
func genOf(m metav1.Object) int {
	g, err := strconv.Atoi(m.GetAnnotations()[GenAnnotation])
	if err != nil {
		return -1
	}
	return g
}

type configMaps struct {
	c interface {
		Create(context.Context, *corev1.ConfigMap, metav1.CreateOptions) (*corev1.ConfigMap, error)
		Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (*corev1.ConfigMap, error)
		Delete(context.Context, string, metav1.DeleteOptions) error
		DeleteCollection(context.Context, metav1.DeleteOptions, metav1.ListOptions) error
		List(context.Context, metav1.ListOptions) (*corev1.ConfigMapList, error)
		Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
	}
}

func (o configMaps) create(ctx context.Context, meta metav1.ObjectMeta, payload []byte) error {
	_, err := o.c.Create(ctx, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{PayloadKey: string(payload)}}, metav1.CreateOptions{})
	return err
}

func (o configMaps) patch(ctx context.Context, name string, patch []byte) error {
	_, err := o.c.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

func (o configMaps) delete(ctx context.Context, name string) error {
	return o.c.Delete(ctx, name, metav1.DeleteOptions{})
}

func (o configMaps) deleteCollection(ctx context.Context, opts metav1.ListOptions) error {
	return o.c.DeleteCollection(ctx, metav1.DeleteOptions{}, opts)
}

func (o configMaps) list(ctx context.Context, opts metav1.ListOptions) (string, []metav1.ObjectMeta, error) {
	l, err := o.c.List(ctx, opts)
	if err != nil {
		return "", nil, err
	}
	items := make([]metav1.ObjectMeta, len(l.Items))
	for i := range l.Items {
		items[i] = l.Items[i].ObjectMeta
	}
	return l.ResourceVersion, items, nil
}

func (o configMaps) watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return o.c.Watch(ctx, opts)
}

type secrets struct {
	c interface {
		Create(context.Context, *corev1.Secret, metav1.CreateOptions) (*corev1.Secret, error)
		Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (*corev1.Secret, error)
		Delete(context.Context, string, metav1.DeleteOptions) error
		DeleteCollection(context.Context, metav1.DeleteOptions, metav1.ListOptions) error
		List(context.Context, metav1.ListOptions) (*corev1.SecretList, error)
		Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
	}
}

func (o secrets) create(ctx context.Context, meta metav1.ObjectMeta, payload []byte) error {
	_, err := o.c.Create(ctx, &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{PayloadKey: payload}}, metav1.CreateOptions{})
	return err
}

func (o secrets) patch(ctx context.Context, name string, patch []byte) error {
	_, err := o.c.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

func (o secrets) delete(ctx context.Context, name string) error {
	return o.c.Delete(ctx, name, metav1.DeleteOptions{})
}

func (o secrets) deleteCollection(ctx context.Context, opts metav1.ListOptions) error {
	return o.c.DeleteCollection(ctx, metav1.DeleteOptions{}, opts)
}

func (o secrets) list(ctx context.Context, opts metav1.ListOptions) (string, []metav1.ObjectMeta, error) {
	l, err := o.c.List(ctx, opts)
	if err != nil {
		return "", nil, err
	}
	items := make([]metav1.ObjectMeta, len(l.Items))
	for i := range l.Items {
		items[i] = l.Items[i].ObjectMeta
	}
	return l.ResourceVersion, items, nil
}

func (o secrets) watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return o.c.Watch(ctx, opts)
}
