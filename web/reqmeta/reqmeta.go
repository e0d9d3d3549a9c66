// Package reqmeta carries per-request metadata (request id, X-Road caller
// headers) in a context.Context. It is a leaf package with no imports
// beyond the standard library so that the service layer can read what the
// web adapter recorded — for the audit log — without importing package web
// (web imports platform, so the reverse import would be a cycle).
package reqmeta

import "context"

// Meta is what the edge learned about a request. X-Road values are claims
// made by the caller's security server; they are recorded, not trusted.
type Meta struct {
	RequestID   string // X-Request-Id, given by the caller or generated
	XRoadClient string // X-Road-Client, e.g. "EE/GOV/70000007/ehr"
	XRoadUserID string // X-Road-UserId, e.g. "EE37605030299"
	XRoadID     string // X-Road-Id, the X-Road message id
}

type key struct{}

// With returns ctx carrying m.
func With(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, key{}, m)
}

// From returns the Meta in ctx, or the zero Meta when there is none (a
// CLI command or a background job has no HTTP request).
func From(ctx context.Context) Meta {
	m, _ := ctx.Value(key{}).(Meta)
	return m
}

// RequestID returns the request id in ctx, "" when there is none.
func RequestID(ctx context.Context) string { return From(ctx).RequestID }
