package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/geneguard/geneguard/algorithm"
	"github.com/geneguard/geneguard/identity"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return http.FileServerFS(sub)
}

// view is what every template gets: the layout's needs plus the page's Data.
type view struct {
	Title   string
	User    *identity.Principal // nil when nobody is signed in
	CSRF    string
	Flash   string // a confirmation, announced to screen readers
	Error   string
	Refresh int // seconds; 0 means no auto-refresh
	Data    any
}

// pages holds one parsed template set per page, each the layout plus the
// page, so that every page can define its own "content" block.
type pages struct {
	byName map[string]*template.Template
}

func newPages(loc *time.Location) *pages {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(loc).Format("2 Jan 2006, 15:04")
		},
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.Format("2 Jan 2006")
		},
		"iso":          func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"shortHash":    algorithm.ShortHash,
		"advice":       adviceFrom,
		"caveats":      caveatsFrom,
		"distribution": distributionFrom,
		"prettyJSON": func(b json.RawMessage) string {
			var buf bytes.Buffer
			if err := json.Indent(&buf, b, "", "  "); err != nil {
				return string(b)
			}
			return buf.String()
		},
		// roleName takes any: audit entries carry roles as plain strings.
		"roleName":   func(r any) string { return roleName(identity.Role(fmt.Sprint(r))) },
		"lower":      strings.ToLower,
		"actionText": actionText,
		"refused":    refusedAction,
		"capitalize": func(s string) string {
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		},
	}
	entries, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, e := range entries {
		name := strings.TrimPrefix(e, "templates/")
		if name == "layout.html" {
			continue
		}
		p.byName[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", e))
	}
	return p
}

// roleName is a role as people say it.
func roleName(r identity.Role) string {
	switch r {
	case identity.RolePatient:
		return "Patient"
	case identity.RolePhysician:
		return "Physician"
	case identity.RoleGovernance:
		return "Governance officer"
	case identity.RoleOperator:
		return "Operator"
	case identity.RoleSystem:
		return "System"
	}
	return string(r)
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	if v.User == nil {
		if sess, err := s.currentSession(r); err == nil {
			p := sess.principal()
			v.User, v.CSRF = &p, s.sessions.csrfToken(sess)
		}
	}
	t, ok := s.pages.byName[name]
	var buf bytes.Buffer
	var err error
	if !ok {
		err = fmt.Errorf("web: no template %s", name)
	} else {
		err = t.ExecuteTemplate(&buf, "layout", v)
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "web: render", "template", name, "request_id", RequestIDFrom(r.Context()), "err", err)
		http.Error(w, internalMessage, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError shows err on the error page with the status and message the
// error table allows.
func (s *server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	pub := toPublic(err)
	s.render(w, r, pub.status, "error.html", &view{
		Title: http.StatusText(pub.status),
		Error: pub.Message,
		Data:  struct{ RequestID string }{RequestIDFrom(r.Context())},
	})
}
