package web

import "strings"

// actionText is an audit action as the patient's access log says it: in
// plain language, from the patient's point of view, not the stored code.
// object is the event's object (an algorithm, "results", ...). Actions it
// does not know are shown as stored, so nothing is ever hidden.
func actionText(action, object string) string {
	switch action {
	case "view":
		return "Viewed your results"
	case "break-glass":
		return "Emergency access to your results (break-glass)"
	case "run":
		if name, _, ok := strings.Cut(object, "@"); ok && name != "" {
			return "Computed your result for " + name
		}
		return "Computed your result"
	case "consent.grant":
		return "Gave consent"
	case "consent.withdraw":
		return "Withdrew consent"
	case "login":
		return "Signed in"
	case "logout":
		return "Signed out"
	case "login.refused":
		return "Sign-in refused"
	case "view.refused":
		switch object {
		case "record":
			return "Tried to open your record — refused"
		case "consents":
			return "Tried to see your consents — refused"
		case "access log":
			return "Tried to read your access log — refused"
		}
		return "Tried to view your results — refused"
	case "consent.refused":
		return "Tried to change your consent — refused"
	case "event.medication-request":
		return "Medicine prescribed (checked against your results)"
	case "event.test-order":
		return "Genetic test ordered"
	case "ingest":
		return "Genotype data received"
	}
	return action
}

// refusedAction reports whether action records a refused attempt, which
// the access log marks and counts.
func refusedAction(action string) bool { return strings.HasSuffix(action, ".refused") }
