package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestNames(t *testing.T) {
	for got, want := range map[string]string{
		ProbeNamespace("abcd1234"):    "pyrometer-abcd1234",
		StepNamespace("abcd1234", 1):  "pyrometer-abcd1234-step-1",
		StepNamespace("abcd1234", 12): "pyrometer-abcd1234-step-12",
		ClusterProbeName("abcd1234"):  "pyrometer-probe-abcd1234",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	// a step's namespace is found by the run's label, never by its name: but it must not be mistaken for the probe's
	if StepNamespace("abcd1234", 1) == ProbeNamespace("abcd1234") {
		t.Error("the step and probe namespaces must differ")
	}
}

func TestCreateNamespace(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	n := Namespace{Name: ProbeNamespace("abcd1234"), RunID: "abcd1234", Component: "probe", Owner: "alice"}
	if err := CreateNamespace(ctx, kube, n); err != nil {
		t.Fatal(err)
	}
	ns, err := kube.CoreV1().Namespaces().Get(ctx, n.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ManagedByLabel: ManagedBy, RunIDLabel: "abcd1234", ComponentLabel: "probe",
		"pod-security.kubernetes.io/enforce": "restricted"}
	if len(ns.Labels) != len(want) {
		t.Errorf("labels %v, want %v", ns.Labels, want)
	}
	for k, v := range want {
		if ns.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, ns.Labels[k], v)
		}
	}
	if ns.Annotations[OwnerAnnotation] != "alice" {
		t.Errorf("owner annotation: %v", ns.Annotations)
	}
	// found again by the run's label, as cleanup finds it
	objs, err := Find(ctx, kube, "abcd1234")
	if err != nil || len(objs) != 1 || objs[0].Name != n.Name || objs[0].Owner != "alice" {
		t.Errorf("Find: %v %+v", err, objs)
	}

	// an unknown owner records no annotation
	anon := Namespace{Name: StepNamespace("abcd1234", 1), RunID: "abcd1234", Component: "stress"}
	if err := CreateNamespace(ctx, kube, anon); err != nil {
		t.Fatal(err)
	}
	if ns, _ := kube.CoreV1().Namespaces().Get(ctx, anon.Name, metav1.GetOptions{}); len(ns.Annotations) != 0 {
		t.Errorf("no owner known: want no annotation, got %v", ns.Annotations)
	}

	// the same name again: another process uses this run id
	err = CreateNamespace(ctx, kube, n)
	if !errors.Is(err, ErrNamespaceExists) {
		t.Fatalf("want ErrNamespaceExists, got %v", err)
	}
	if want := "failed to create namespace pyrometer-abcd1234: it exists already: another run uses run id abcd1234"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}

	// any other failure names the namespace and is not ErrNamespaceExists
	kube.PrependReactor("create", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("boom")
	})
	err = CreateNamespace(ctx, kube, Namespace{Name: "pyrometer-x", RunID: "x"})
	if err == nil || errors.Is(err, ErrNamespaceExists) || err.Error() != "failed to create namespace pyrometer-x: boom" {
		t.Errorf("got %v", err)
	}
}

func TestCopyPullSecrets(t *testing.T) {
	ctx := context.Background()
	src := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "regcred", Labels: map[string]string{"mine": "yes"},
		Annotations: map[string]string{"note": "private"}}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}
	kube := fake.NewClientset(src)
	ps := PullSecrets{Names: []string{"regcred"}, Namespace: "team"}
	if err := CopyPullSecrets(ctx, kube, "abcd1234", ps, "pyrometer-abcd1234"); err != nil {
		t.Fatal(err)
	}
	cp, err := kube.CoreV1().Secrets("pyrometer-abcd1234").Get(ctx, "regcred", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Type != src.Type || string(cp.Data[corev1.DockerConfigJsonKey]) != `{"auths":{}}` {
		t.Errorf("copy differs: %+v", cp)
	}
	if cp.Labels[RunIDLabel] != "abcd1234" || cp.Labels[ComponentLabel] != "pull-secret" || cp.Labels["mine"] != "" || len(cp.Annotations) != 0 {
		t.Errorf("the copy carries the run's labels only: labels %v, annotations %v", cp.Labels, cp.Annotations)
	}

	// nothing to copy: nothing read, nothing created
	kube = fake.NewClientset()
	if err := CopyPullSecrets(ctx, kube, "abcd1234", PullSecrets{Namespace: "team"}, "pyrometer-abcd1234"); err != nil || len(kube.Actions()) != 0 {
		t.Errorf("no secrets: %v, actions %v", err, kube.Actions())
	}
	// a secret that does not exist is named with its namespace
	err = CopyPullSecrets(ctx, kube, "abcd1234", ps, "pyrometer-abcd1234")
	if err == nil || !strings.HasPrefix(err.Error(), "failed to read image pull secret team/regcred: ") {
		t.Errorf("got %v", err)
	}
}
