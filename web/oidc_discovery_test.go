package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/web"
)

// TestOIDCDiscoveryErrorShort: a provider that answers discovery with an
// HTML error page gets a one-line error naming the discovery URL and the
// status, not the whole page.
func TestOIDCDiscoveryErrorShort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Not Found</title></head>\n<body>" + strings.Repeat("<p>lots of markup</p>\n", 200) + "</body></html>\n"))
	}))
	defer srv.Close()
	_, err := web.NewOIDC(context.Background(), web.OIDCConfig{Issuer: srv.URL, ClientID: "geneguard", RedirectURL: "https://geneguard.example/login/callback"})
	if err == nil {
		t.Fatal("discovery against a 404 succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "discovery at "+srv.URL+"/.well-known/openid-configuration") || !strings.Contains(msg, "404") || strings.Contains(msg, "\n") || strings.Contains(msg, "lots of markup") || len(msg) > 500 {
		t.Errorf("discovery error is not one short line naming the URL and status:\n%s", msg)
	}
}
