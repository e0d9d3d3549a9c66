package platform_test

import (
	"context"
	"strings"
	"testing"

	"github.com/geneguard/geneguard/demo"
	"github.com/geneguard/geneguard/internal/testenv"
	"github.com/geneguard/geneguard/platform"
)

func rxJSON(id, status, code string) []byte {
	st := ""
	if status != "" {
		st = `"status":"` + status + `",`
	}
	return []byte(`{"resourceType":"MedicationRequest","id":"` + id + `",` + st + `"intent":"order",
		"medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"N06AB04","display":"citalopram"}]},
		"subject":{"identifier":{"system":"https://fhir.ee/sid/pid/est/ni","value":"` + code + `"}}}`)
}

// Only an active or draft order (or one without a status) is a
// prescription trigger: a cancelled, stopped, completed or
// entered-in-error one gets a clear answer, no job and no event.
func TestMedicationRequestStatus(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w := testenv.NewWorld(t, b.DSN(t))
		people := demo.Cohort(1)
		w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
		w.Drain(t)
		alice := w.SignIn(t, people[0].Code)
		w.Grant(t, alice, demo.PGxAlgorithmID)
		w.Drain(t)
		jobs := len(testenv.Jobs(t, w.Store))
		for _, st := range []string{"cancelled", "stopped", "entered-in-error", "completed", "on-hold", "unknown"} {
			mr, err := platform.ParseMedicationRequest(rxJSON("rx-"+st, st, string(people[0].Code)))
			if err != nil {
				t.Fatalf("%s: %v", st, err)
			}
			ans, err := w.Service.MedicationRequested(ctx, testenv.Physician, mr)
			if err != nil {
				t.Fatalf("%s: %v", st, err)
			}
			if !strings.Contains(ans.Ignored, `status "`+st+`"`) || !strings.Contains(ans.Ignored, "only active or draft") || len(ans.Outcomes) != 0 {
				t.Errorf("%s: answer %+v", st, ans)
			}
		}
		if n := len(testenv.Jobs(t, w.Store)); n != jobs {
			t.Errorf("non-active orders queued %d jobs", n-jobs)
		}
		if n := testenv.Count(t, w.Store, `SELECT COUNT(*) FROM clinical_events`); n != 0 {
			t.Errorf("non-active orders recorded %d clinical events", n)
		}
		for _, st := range []string{"active", "draft", ""} {
			mr, err := platform.ParseMedicationRequest(rxJSON("rx-ok-"+st, st, string(people[0].Code)))
			if err != nil {
				t.Fatalf("%q: %v", st, err)
			}
			ans, err := w.Service.MedicationRequested(ctx, testenv.Physician, mr)
			if err != nil {
				t.Fatalf("%q: %v", st, err)
			}
			if ans.Ignored != "" || ans.Outcomes[demo.PGxAlgorithmID] != platform.RxCurrentResult {
				t.Errorf("status %q: answer %+v", st, ans)
			}
		}
		if _, err := platform.ParseMedicationRequest(rxJSON("rx-bad", "revoked", string(people[0].Code))); platform.ErrorCode(err) != platform.CodeInvalid {
			t.Errorf("unknown status: %v", err)
		}
	})
}

// rxDrugJSON is an active MedicationRequest for one ATC-coded drug.
func rxDrugJSON(id, atc, display, code string) []byte {
	return []byte(`{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","intent":"order",
		"medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"` + atc + `","display":"` + display + `"}]},
		"subject":{"identifier":{"system":"https://fhir.ee/sid/pid/est/ni","value":"` + code + `"}}}`)
}

// A resource id names one prescription: the same id with the same
// content is a retry (answered, nothing new written), but the same id
// for another person or another drug is a conflict that writes nothing —
// before, it was taken for a retry and the second prescription was lost.
func TestMedicationRequestReusedID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		w := testenv.NewWorld(t, b.DSN(t))
		people := demo.Cohort(2)
		w.Ingest(t, testenv.DemoVCF(t, people).Write(t, "cohort.vcf"))
		w.Drain(t)
		w.Grant(t, w.SignIn(t, people[0].Code), demo.PGxAlgorithmID)
		w.Grant(t, w.SignIn(t, people[1].Code), demo.PGxAlgorithmID)
		w.Drain(t)
		a, bob := string(people[0].Code), string(people[1].Code)
		stranger := "37605030299" // never seen: would be created

		first, err := platform.ParseMedicationRequest(rxDrugJSON("rx-1", "N06AB04", "citalopram", a))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Service.MedicationRequested(ctx, testenv.Physician, first); err != nil {
			t.Fatal(err)
		}
		state := func() [4]int {
			return [4]int{
				testenv.Count(t, w.Store, `SELECT COUNT(*) FROM clinical_events`),
				testenv.Count(t, w.Store, `SELECT COUNT(*) FROM persons`),
				testenv.Count(t, w.Store, `SELECT (SELECT COUNT(*) FROM audit_pending) + (SELECT COUNT(*) FROM audit_events)`),
				len(testenv.Jobs(t, w.Store)),
			}
		}
		// A retry is answered as then: bob opts out after his first
		// prescription, so a new one would need consent, but the retry
		// of the first says what happened then.
		rx2, err := platform.ParseMedicationRequest(rxDrugJSON("rx-2", "N06AB04", "citalopram", bob))
		if err != nil {
			t.Fatal(err)
		}
		then, err := w.Service.MedicationRequested(ctx, testenv.Physician, rx2)
		if err != nil || then.Outcomes[demo.PGxAlgorithmID] != platform.RxCurrentResult {
			t.Fatalf("rx-2: %+v %v", then, err)
		}
		w.Withdraw(t, w.SignIn(t, people[1].Code), demo.PGxAlgorithmID)
		if again, err := w.Service.MedicationRequested(ctx, testenv.Physician, rx2); err != nil || !again.Duplicate || again.Drug != "citalopram" || len(again.Outcomes) != 1 || again.Outcomes[demo.PGxAlgorithmID] != platform.RxCurrentResult {
			t.Errorf("rx-2 retried after the opt-out: %+v %v, want the answer given then", again, err)
		}
		before := state()
		for _, tc := range []struct {
			name     string
			body     []byte
			conflict string // "" for a retry
		}{
			{"same content", rxDrugJSON("rx-1", "N06AB04", "citalopram", a), ""},
			{"same drug, other display", rxDrugJSON("rx-1", "N06AB04", "Citalopram 20 mg tablet", a), ""},
			{"other person", rxDrugJSON("rx-1", "N06AB04", "citalopram", bob), "MedicationRequest rx-1 was already recorded for another person; a resource id names one prescription"},
			{"unknown person", rxDrugJSON("rx-1", "N06AB04", "citalopram", stranger), "MedicationRequest rx-1 was already recorded for another person; a resource id names one prescription"},
			{"other drug", rxDrugJSON("rx-1", "N06AB06", "sertraline", a), "MedicationRequest rx-1 was already recorded for this person with drug citalopram, not sertraline; a resource id names one prescription"},
			{"other person and drug", rxDrugJSON("rx-1", "N06AB06", "sertraline", bob), "MedicationRequest rx-1 was already recorded for another person;"},
		} {
			mr, err := platform.ParseMedicationRequest(tc.body)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			ans, err := w.Service.MedicationRequested(ctx, testenv.Physician, mr)
			if tc.conflict == "" {
				if err != nil || !ans.Duplicate || ans.Drug != "citalopram" || ans.Outcomes[demo.PGxAlgorithmID] != platform.RxCurrentResult {
					t.Errorf("%s: a retry answered %+v, %v", tc.name, ans, err)
				}
			} else if platform.ErrorCode(err) != platform.CodeConflict || !strings.Contains(platform.ErrorMessage(err), tc.conflict) {
				t.Errorf("%s: got %+v, %v; want a conflict %q", tc.name, ans, err, tc.conflict)
			}
			if after := state(); after != before {
				t.Errorf("%s: (clinical events, persons, audit events, jobs) went from %v to %v", tc.name, before, after)
			}
		}
	})
}

// TestMedicationRequestSubject: the patient must be named by personal
// code; a subject that names them otherwise is refused saying how, not
// with a complaint about an empty code.
func TestMedicationRequestSubject(t *testing.T) {
	for _, c := range []struct {
		name, subject, want string
	}{
		{"another identifier system", `{"identifier":{"system":"urn:oid:1.2.3","value":"48304173715"}}`, `subject.identifier has system "urn:oid:1.2.3": the patient must be identified by personal code`},
		{"no code at all", `{"display":"Mari"}`, "MedicationRequest.subject names no personal code"},
		{"a bad code", `{"reference":"Patient/48304173710"}`, "must identify the patient by personal code"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := platform.ParseMedicationRequest([]byte(`{"resourceType":"MedicationRequest","id":"rx","status":"active","subject":` + c.subject + `,"medicationCodeableConcept":{"text":"citalopram"}}`))
			if platform.ErrorCode(err) != platform.CodeInvalid || !strings.Contains(platform.ErrorMessage(err), c.want) {
				t.Errorf("err = %v, want invalid saying %q", err, c.want)
			}
		})
	}
}
