package web

import (
	"encoding/json"
	"strings"
)

// adviceItem is one actionable line shown above a result's raw output.
type adviceItem struct {
	Label    string // e.g. "Citalopram"
	Strength string // e.g. "Strong", for guideline recommendations
	Text     string
}

// adviceFrom pulls what a person acts on out of an engine's stored output,
// so the card shows the prescribing or screening advice instead of leaving
// it in the genotype details. It reads the shapes engines write (pgx:
// "recommendations" with drug/text/strength; prs: "assessment.advice",
// "recommendation"/"screening" text; monogenic: "referral"), and shows
// nothing for shapes it does not know: the raw output is still below.
func adviceFrom(raw json.RawMessage) []adviceItem {
	var out struct {
		Recommendations []struct {
			Drug      string `json:"drug"`
			Text      string `json:"text"`
			Strength  string `json:"strength"`
			Ambiguous bool   `json:"ambiguous"`
			Phenotype string `json:"phenotype"`
		} `json:"recommendations"`
		Assessment *struct {
			Advice string `json:"advice"`
		} `json:"assessment"`
		Recommendation any    `json:"recommendation"`
		Referral       string `json:"referral"`
	}
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	var items []adviceItem
	for _, r := range out.Recommendations {
		if r.Text == "" {
			continue
		}
		label := strings.ToUpper(r.Drug[:min(1, len(r.Drug))]) + r.Drug[min(1, len(r.Drug)):]
		if r.Ambiguous && r.Phenotype != "" {
			label += " if " + r.Phenotype
		}
		items = append(items, adviceItem{Label: label, Strength: r.Strength, Text: r.Text})
	}
	if out.Assessment != nil && out.Assessment.Advice != "" {
		items = append(items, adviceItem{Label: "Screening", Text: out.Assessment.Advice})
	}
	switch rec := out.Recommendation.(type) {
	case string:
		if rec != "" {
			items = append(items, adviceItem{Label: "Screening", Text: rec})
		}
	case map[string]any:
		for _, k := range []string{"text", "advice", "summary"} {
			if t, ok := rec[k].(string); ok && t != "" {
				items = append(items, adviceItem{Label: "Screening", Text: t})
				break
			}
		}
	}
	if out.Referral != "" {
		items = append(items, adviceItem{Label: "Referral", Text: out.Referral})
	}
	return items
}
