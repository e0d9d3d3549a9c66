package identity

// Role is what a signed-in principal may do. Roles are checked by the
// service layer, never by pages alone.
type Role string

const (
	RolePatient    Role = "patient"    // reads and consents for their own record
	RolePhysician  Role = "physician"  // reads results of patients in care
	RoleGovernance Role = "governance" // approves algorithms, reads usage
	RoleOperator   Role = "operator"   // ingests data, submits algorithms, runs the platform
	RoleSystem     Role = "system"     // the platform itself (job runner, triggers)
)

// Principal is the authenticated actor behind a request or a command.
type Principal struct {
	Subject string // e.g. "EE60001019906" from TARA, or an operator account
	Name    string
	Role    Role
	// Person is the pseudonym of the principal's own record when the
	// principal is a patient.
	Person string
}

// System is the principal for work the platform does on its own (triggered
// recalculations), so audit records always name an actor.
var System = Principal{Subject: "geneguard", Name: "geneguard runner", Role: RoleSystem}
