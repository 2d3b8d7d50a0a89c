package workers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/kubepyrometer/kubectl-pyrometer/pkg/cluster"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/hollow"
	"github.com/kubepyrometer/kubectl-pyrometer/pkg/result"
)

// --workers-flowschema: the workers' requests go to a PriorityLevelConfiguration of their own (a copy of the spec of
// the level they would otherwise fall into, so the load keeps its treatment), through a FlowSchema naming the
// workers' ServiceAccount in every step namespace of the run. Both are cluster-scoped, named APFName(runID) and carry
// the run's labels: the run deletes them at its end, cleanup finds them by label.

// APFPrecedence is the FlowSchema's matchingPrecedence: before service-accounts (9000) and global-default (9900),
// after the system FlowSchemas (kube-system-service-accounts is 900).
const APFPrecedence = 1000

// APFComponent is the cluster.ComponentLabel value of the FlowSchema and the priority level.
const APFComponent = "workers-apf"

// APFKinds are the kinds --workers-flowschema creates, for cluster.WithKinds (the run's final search for its
// objects).
var APFKinds = []cluster.Kind{
	{GVR: schema.GroupVersionResource{Group: flowcontrolv1.GroupName, Version: "v1", Resource: "flowschemas"}, Kind: "FlowSchema"},
	{GVR: schema.GroupVersionResource{Group: flowcontrolv1.GroupName, Version: "v1", Resource: "prioritylevelconfigurations"}, Kind: "PriorityLevelConfiguration"},
}

// APFName is the name of run runID's FlowSchema and priority level.
func APFName(runID string) string { return "pyrometer-" + runID + "-workers" }

// Identity is who a worker's requests come from in step namespace ns: its ServiceAccount's user name and groups.
func Identity(ns string) (user string, groups []string) {
	return "system:serviceaccount:" + ns + ":" + Name, []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
}

// APFRequests are the workers' writes in ns (a create of each resource the loads write: configmaps, secrets), the
// requests whose FlowSchema decides which level is copied.
func APFRequests(ns string, resources []string) []hollow.Request {
	var out []hollow.Request
	for _, r := range resources {
		out = append(out, hollow.Request{Name: "create " + r, Verb: "create", Resource: r, Namespace: ns})
	}
	return out
}

// APFPlan is what --workers-flowschema will create, from the cluster's FlowSchemas and priority levels as they are.
type APFPlan struct {
	Doc           result.APF
	PriorityLevel *flowcontrolv1.PriorityLevelConfiguration
	FlowSchema    *flowcontrolv1.FlowSchema
}

// PlanAPF decides the run's FlowSchema and priority level: the level the workers' requests (APFRequests, matched by
// hollow.MatchFlowSchemas as the apiserver matches them, with the identity of the first step namespace) fall into
// is copied; the FlowSchema's subjects are the workers' ServiceAccount in each of namespaces. An error when the
// requests fall into no limited level (an exempt level cannot be copied) or into several.
func PlanAPF(runID string, namespaces, resources []string, schemas []flowcontrolv1.FlowSchema, levels []flowcontrolv1.PriorityLevelConfiguration) (APFPlan, error) {
	if len(namespaces) == 0 || len(resources) == 0 {
		return APFPlan{}, errors.New("--workers-flowschema: no step namespace or no load")
	}
	user, groups := Identity(namespaces[0])
	matches := hollow.MatchFlowSchemas(schemas, user, groups, APFRequests(namespaces[0], resources))
	from := matches[0]
	for _, m := range matches[1:] {
		if m.PriorityLevel != from.PriorityLevel {
			return APFPlan{}, fmt.Errorf("--workers-flowschema: the workers' requests fall into two priority levels (%s: %s, %s: %s); one cannot be copied for both",
				from.Request, from.PriorityLevel, m.Request, m.PriorityLevel)
		}
	}
	if from.FlowSchema == "" {
		return APFPlan{}, fmt.Errorf("--workers-flowschema: no FlowSchema matches the workers' requests (%s as %s)", from.Request, user)
	}
	var src *flowcontrolv1.PriorityLevelConfiguration
	var sum int32
	for i := range levels {
		sum += levelShares(levels[i])
		if levels[i].Name == from.PriorityLevel {
			src = &levels[i]
		}
	}
	if src == nil {
		return APFPlan{}, fmt.Errorf("--workers-flowschema: the workers' requests fall into FlowSchema %s, whose priority level %s does not exist", from.FlowSchema, from.PriorityLevel)
	}
	if src.Spec.Type != flowcontrolv1.PriorityLevelEnablementLimited || src.Spec.Limited == nil {
		return APFPlan{}, fmt.Errorf("--workers-flowschema: the workers' requests fall into priority level %s (FlowSchema %s), which is %s: only a limited level can be copied",
			src.Name, from.FlowSchema, src.Spec.Type)
	}
	name := APFName(runID)
	labels := cluster.Labels(runID, APFComponent)
	spec := *src.Spec.DeepCopy()
	pl := &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: spec}
	var subjects []flowcontrolv1.Subject
	for _, ns := range namespaces {
		subjects = append(subjects, flowcontrolv1.Subject{Kind: flowcontrolv1.SubjectKindServiceAccount,
			ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: ns, Name: Name}})
	}
	all := []string{flowcontrolv1.VerbAll}
	fs := &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: name},
			MatchingPrecedence:         APFPrecedence,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: subjects,
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: all, APIGroups: []string{flowcontrolv1.APIGroupAll},
					Resources: []string{flowcontrolv1.ResourceAll}, ClusterScope: true, Namespaces: []string{flowcontrolv1.NamespaceEvery}}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: all, NonResourceURLs: []string{flowcontrolv1.NonResourceAll}}},
			}},
		}}
	shares := levelShares(*src)
	doc := result.APF{FlowSchema: name, PriorityLevel: name, MatchingPrecedence: APFPrecedence, ServiceAccounts: len(namespaces),
		CopiedFrom: result.APFSource{FlowSchema: from.FlowSchema, PriorityLevel: from.PriorityLevel},
		Spec:       specFigures(spec), SharesSum: sum, OthersShrink: OthersShrink(sum, shares)}
	return APFPlan{Doc: doc, PriorityLevel: pl, FlowSchema: fs}, nil
}

// OthersShrink is the fraction of its nominal seats every existing level loses when a level of shares is added to
// levels whose shares sum to sum: a level's nominal seats are the server's concurrency limit x its shares / the sum
// of all levels' shares, so each is multiplied by sum/(sum+shares), i.e. shrinks by shares/(sum+shares). Rounded to
// 4 decimals.
func OthersShrink(sum, shares int32) float64 {
	if sum+shares <= 0 {
		return 0
	}
	return math.Round(float64(shares)/float64(sum+shares)*1e4) / 1e4
}

// levelShares is a level's nominal concurrency shares (an exempt level's too: v1 counts them in the sum; the
// server's defaults are set on what it returns, nil counts 0).
func levelShares(pl flowcontrolv1.PriorityLevelConfiguration) int32 {
	switch {
	case pl.Spec.Limited != nil && pl.Spec.Limited.NominalConcurrencyShares != nil:
		return *pl.Spec.Limited.NominalConcurrencyShares
	case pl.Spec.Exempt != nil && pl.Spec.Exempt.NominalConcurrencyShares != nil:
		return *pl.Spec.Exempt.NominalConcurrencyShares
	}
	return 0
}

func specFigures(spec flowcontrolv1.PriorityLevelConfigurationSpec) result.APFSpec {
	l := spec.Limited
	var f result.APFSpec
	if l.NominalConcurrencyShares != nil {
		f.NominalConcurrencyShares = *l.NominalConcurrencyShares
	}
	if l.LendablePercent != nil {
		f.LendablePercent = *l.LendablePercent
	}
	f.BorrowingLimitPercent = l.BorrowingLimitPercent
	f.LimitResponse = string(l.LimitResponse.Type)
	if q := l.LimitResponse.Queuing; q != nil {
		f.Queues, f.HandSize, f.QueueLengthLimit = q.Queues, q.HandSize, q.QueueLengthLimit
	}
	return f
}

// ReadAPF lists the cluster's FlowSchemas and priority levels and plans (PlanAPF).
func ReadAPF(ctx context.Context, c kubernetes.Interface, runID string, namespaces, resources []string) (APFPlan, error) {
	fs, err := c.FlowcontrolV1().FlowSchemas().List(ctx, metav1.ListOptions{})
	if err != nil {
		return APFPlan{}, fmt.Errorf("--workers-flowschema: failed to list flowschemas: %w", err)
	}
	pls, err := c.FlowcontrolV1().PriorityLevelConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return APFPlan{}, fmt.Errorf("--workers-flowschema: failed to list prioritylevelconfigurations: %w", err)
	}
	return PlanAPF(runID, namespaces, resources, fs.Items, pls.Items)
}

// APFObjects are the run's FlowSchema and priority level once created; Delete removes what Create created.
type APFObjects struct {
	client    kubernetes.Interface
	name      string
	createdPL bool
	createdFS bool
}

// CreateAPF creates the plan's priority level, then its FlowSchema (annotated with owner, as every object of the
// run). What it created is deleted by Delete, also after an error.
func CreateAPF(ctx context.Context, c kubernetes.Interface, plan APFPlan, owner string) (*APFObjects, error) {
	o := &APFObjects{client: c, name: plan.PriorityLevel.Name}
	pl, fs := plan.PriorityLevel.DeepCopy(), plan.FlowSchema.DeepCopy()
	pl.Annotations, fs.Annotations = cluster.Annotations(owner), cluster.Annotations(owner)
	if _, err := c.FlowcontrolV1().PriorityLevelConfigurations().Create(ctx, pl, metav1.CreateOptions{}); err != nil {
		return o, fmt.Errorf("--workers-flowschema: failed to create prioritylevelconfiguration %s: %w", pl.Name, err)
	}
	o.createdPL = true
	if _, err := c.FlowcontrolV1().FlowSchemas().Create(ctx, fs, metav1.CreateOptions{}); err != nil {
		return o, fmt.Errorf("--workers-flowschema: failed to create flowschema %s: %w", fs.Name, err)
	}
	o.createdFS = true
	return o, o.waitTaken(ctx)
}

// apfTakeIn bounds the wait for the apiserver's APF controller to take the new FlowSchema in.
var apfTakeIn = 30 * time.Second

// waitTaken waits until the apiserver's APF configuration controller has taken the FlowSchema in (it writes the
// Dangling condition, False: its priority level exists), and a moment more (the filter swaps its configuration in
// right after that status write): before, the workers' requests would still go to the level copied.
func (o *APFObjects) waitTaken(ctx context.Context) error {
	deadline := time.Now().Add(apfTakeIn)
	for {
		fs, err := o.client.FlowcontrolV1().FlowSchemas().Get(ctx, o.name, metav1.GetOptions{})
		if err == nil {
			for _, c := range fs.Status.Conditions {
				if c.Type == flowcontrolv1.FlowSchemaConditionDangling && c.Status == flowcontrolv1.ConditionFalse {
					return sleepCtx(ctx, time.Second)
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("--workers-flowschema: the apiserver did not take flowschema %s in within %v (no Dangling=False condition; last error: %v)", o.name, apfTakeIn, err)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Delete deletes the FlowSchema, then the priority level (what CreateAPF created; gone already is fine). Safe to
// call more than once and on nil.
func (o *APFObjects) Delete(ctx context.Context) error {
	if o == nil {
		return nil
	}
	var errs []error
	if o.createdFS {
		if err := o.client.FlowcontrolV1().FlowSchemas().Delete(ctx, o.name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("failed to delete flowschema %s: %w", o.name, err))
		} else {
			o.createdFS = false
		}
	}
	if o.createdPL {
		if err := o.client.FlowcontrolV1().PriorityLevelConfigurations().Delete(ctx, o.name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("failed to delete prioritylevelconfiguration %s: %w", o.name, err))
		} else {
			o.createdPL = false
		}
	}
	return errors.Join(errs...)
}
