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
