// Package consent owns opt-in consent: per person, per algorithm (not per
// version, so a patient is not asked again for every CPIC update), granted
// and withdrawn as events. The default is deny: no event, no computation.
package consent

import (
	"errors"
	"time"
)

// Action is what a consent event does.
type Action string

const (
	Grant    Action = "grant"
	Withdraw Action = "withdraw"
)

// Event is one change, kept forever as the consent history.
type Event struct {
	Person    string    `json:"person"`
	Algorithm string    `json:"algorithm"`
	Action    Action    `json:"action"`
	Actor     string    `json:"actor"`   // who recorded it
	Channel   string    `json:"channel"` // "portal", "cli", "api", "demo"
	At        time.Time `json:"at"`
}

// ErrDenied is returned when an action needs consent that is not in force.
var ErrDenied = errors.New("no consent in force")

// Granted reports whether the last event in history (oldest first) is a
// grant. An empty history is a refusal: nothing runs without opt-in.
func Granted(history []Event) bool {
	if len(history) == 0 {
		return false
	}
	return history[len(history)-1].Action == Grant
}
