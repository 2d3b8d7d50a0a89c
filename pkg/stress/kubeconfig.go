package stress

import (
	"fmt"
	"net/http"
	"net/url"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigContext is the only context of the kubeconfig handed to kube-burner.
const kubeconfigContext = "pyrometer"

// Kubeconfig encodes cfg (with every --context/--as/--token/--server override already applied) as a kubeconfig with
// one context, for kube-burner, which only takes a kubeconfig. Every connection setting of cfg is carried over:
// server, CA, TLS server name, insecure, proxy URL (cfg.Proxy asked for the server's URL: client-go sets it from the
// kubeconfig's proxy-url), compression, client certificate, token (and token file, re-read when it rotates), basic
// auth, impersonation, exec and auth-provider plugins. Inline data wins over a file path (a kubeconfig may not have
// both). It is never written to disk by this package: it goes to the kube-burner process on its stdin.
func Kubeconfig(cfg *rest.Config) ([]byte, error) {
	if cfg.APIPath != "" && cfg.APIPath != "/api" {
		return nil, fmt.Errorf("unsupported API path %q for kube-burner", cfg.APIPath)
	}
	cluster := &clientcmdapi.Cluster{Server: cfg.Host, InsecureSkipTLSVerify: cfg.Insecure, TLSServerName: cfg.ServerName,
		CertificateAuthorityData: cfg.CAData, DisableCompression: cfg.DisableCompression}
	if len(cfg.CAData) == 0 {
		cluster.CertificateAuthority = cfg.CAFile
	}
	if cfg.Proxy != nil {
		u, err := url.Parse(cfg.Host)
		if err != nil {
			return nil, fmt.Errorf("invalid server URL %q: %w", cfg.Host, err)
		}
		if u.Scheme == "" {
			u.Scheme = "https"
		}
		proxy, err := cfg.Proxy(&http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}})
		if err != nil {
			return nil, fmt.Errorf("failed to resolve the proxy for %s: %w", cfg.Host, err)
		}
		if proxy != nil {
			cluster.ProxyURL = proxy.String()
		}
	}
	auth := &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData,
		Token: cfg.BearerToken, TokenFile: cfg.BearerTokenFile,
		Username: cfg.Username, Password: cfg.Password,
		Impersonate: cfg.Impersonate.UserName, ImpersonateUID: cfg.Impersonate.UID,
		ImpersonateGroups: cfg.Impersonate.Groups, ImpersonateUserExtra: cfg.Impersonate.Extra,
		Exec: cfg.ExecProvider, AuthProvider: cfg.AuthProvider,
	}
	if len(cfg.CertData) == 0 {
		auth.ClientCertificate = cfg.CertFile
	}
	if len(cfg.KeyData) == 0 {
		auth.ClientKey = cfg.KeyFile
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters[kubeconfigContext] = cluster
	kc.AuthInfos[kubeconfigContext] = auth
	kc.Contexts[kubeconfigContext] = &clientcmdapi.Context{Cluster: kubeconfigContext, AuthInfo: kubeconfigContext}
	kc.CurrentContext = kubeconfigContext
	b, err := clientcmd.Write(*kc)
	if err != nil {
		return nil, fmt.Errorf("failed to encode kube-burner's kubeconfig: %w", err)
	}
	return b, nil
}
