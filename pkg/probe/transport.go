package probe

import (
	"context"
	"net/http"
	"net/url"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
)

// HeaderPriorityLevelUID is set by the apiserver's API Priority and Fairness filter on every response.
const HeaderPriorityLevelUID = "X-Kubernetes-PF-PriorityLevel-UID"

// DedicatedConfig copies base for probing:
//   - no client-side rate limiter (QPS -1, RateLimiter nil), so nothing in this process queues a probe;
//   - no http.Client timeout (Timeout 0): each probe request is bounded by Config.RequestTimeout through its
//     context, and the long-lived watch must not be cut by a --request-timeout;
//   - its own HTTP transport: client-go shares one transport per TLS configuration through a process-wide
//     cache; a non-nil Proxy func makes the config uncacheable, so probe connections are never shared with
//     (or queued behind) the stress clients of the same process. The proxy decision is unchanged (base.Proxy,
//     else the environment, as client-go does). A caller-supplied base.Transport is kept as is;
//   - a WrapTransport (after base's own) that records each response's status code and APF headers into the
//     capture carried by the request's context, so concurrent requests never mix.
//
// Authentication (client certificates, bearer token and token file, exec and auth-provider plugins) and
// impersonation are copied untouched.
func DedicatedConfig(base *rest.Config) *rest.Config {
	cfg := rest.CopyConfig(base)
	cfg.QPS = -1
	cfg.Burst = 0
	cfg.RateLimiter = nil
	cfg.Timeout = 0
	if cfg.Transport == nil {
		proxy := base.Proxy
		if proxy == nil {
			proxy = http.ProxyFromEnvironment
		}
		cfg.Proxy = func(r *http.Request) (*url.URL, error) { return proxy(r) }
	}
	cfg.WrapTransport = transport.Wrappers(base.WrapTransport, func(rt http.RoundTripper) http.RoundTripper {
		return &captureRoundTripper{next: rt}
	})
	return cfg
}

// capture holds what the transport saw of the responses to one logical request (client-go may retry, e.g.
// after a 429 with Retry-After: the last response wins and attempts counts them all).
type capture struct {
	mu            sync.Mutex
	status        int
	priorityLevel string
	attempts      int
}

func (c *capture) record(resp *http.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts++
	if resp == nil {
		return
	}
	c.status = resp.StatusCode
	if v := resp.Header.Get(HeaderPriorityLevelUID); v != "" {
		c.priorityLevel = v
	}
}

type captured struct {
	status        int
	priorityLevel string
	attempts      int
}

func (c *capture) get() captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return captured{status: c.status, priorityLevel: c.priorityLevel, attempts: c.attempts}
}

type captureKey struct{}

// withCapture returns a context whose requests are recorded into the returned capture.
func withCapture(ctx context.Context) (context.Context, *capture) {
	c := &capture{}
	return context.WithValue(ctx, captureKey{}, c), c
}

func captureFrom(ctx context.Context) *capture {
	c, _ := ctx.Value(captureKey{}).(*capture)
	return c
}

type captureRoundTripper struct {
	next http.RoundTripper
}

func (rt *captureRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(req)
	if c := captureFrom(req.Context()); c != nil {
		c.record(resp)
	}
	return resp, err
}

// WrappedRoundTripper lets client-go reach the underlying transport (connection cancelling, idle close).
func (rt *captureRoundTripper) WrappedRoundTripper() http.RoundTripper { return rt.next }
