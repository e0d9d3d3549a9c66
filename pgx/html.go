package pgx

import (
	"bytes"
	"html/template"
	"strings"
)

// PersonReport is one person's results as RenderHTML shows them.
type PersonReport struct {
	Sample          string
	Calls           []GeneCall
	Recommendations []Recommendation
}

// HTMLReport is the input of RenderHTML: the result of a call, the
// recommendations per sample (may be empty) and the versions behind them.
type HTMLReport struct {
	Result          *Result
	Recommendations map[string][]Recommendation // by sample
	GuidanceVersion string
}

// RenderHTML writes a plain, self-contained and accessible HTML report with
// one section per person: each gene's phenotype first, the prescribing
// recommendations with their strength, the genotype behind them on demand
// (<details>), the warnings, and the data versions. Everything is escaped.
func RenderHTML(rep HTMLReport) ([]byte, error) {
	var buf bytes.Buffer
	data := struct {
		HTMLReport
		People []PersonReport
	}{HTMLReport: rep}
	if rep.Result != nil {
		for _, s := range rep.Result.Samples {
			data.People = append(data.People, PersonReport{Sample: s.Sample, Calls: s.Calls, Recommendations: rep.Recommendations[s.Sample]})
		}
	}
	if err := htmlReport.Execute(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var htmlReport = template.Must(template.New("pgx").Funcs(template.FuncMap{
	"join": strings.Join,
	"phenotype": func(c GeneCall) string {
		switch {
		case c.Phenotype != "":
			return c.Phenotype
		case c.Ambiguous:
			return "Ambiguous: " + strings.Join(c.DistinctPhenotypes(), " or ")
		case !c.HasResult():
			return "Not called"
		}
		return "No phenotype assigned"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pharmacogenomic report</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;line-height:1.5;color:#111}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #888;padding:.3rem .5rem;text-align:left;vertical-align:top}
.warn{background:#fff4d6;border-left:4px solid #a66f00;padding:.3rem .6rem}
.strength{font-weight:bold}
</style>
</head>
<body>
<h1>Pharmacogenomic report</h1>
{{range .People}}
<section aria-labelledby="p-{{.Sample}}">
<h2 id="p-{{.Sample}}">Person {{.Sample}}</h2>
<h3>Phenotypes</h3>
<table>
<caption>Metabolizer or function status per gene</caption>
<thead><tr><th scope="col">Gene</th><th scope="col">Phenotype</th><th scope="col">Genotype</th></tr></thead>
<tbody>
{{range .Calls}}<tr>
<th scope="row">{{.Gene}}</th>
<td>{{phenotype .}}{{if .ActivityScores}} (activity score {{join .ActivityScores ", "}}){{end}}{{if .Inferred}}<br><small>{{.Inferred}}</small>{{end}}</td>
<td><details><summary>Show genotype</summary>
{{if .Called}}<p>{{if .HaplotypeList}}Alleles found (not phased): {{else}}Diplotype{{if gt (len .Diplotypes) 1}}s (tied, all shown){{end}}: {{end}}{{join .Diplotypes "; "}}</p>{{else}}<p>Not called{{if .NoCallReason}}: {{.NoCallReason}}{{end}}</p>{{end}}
{{if .Recommended}}<p>Used for guidance: {{join .Recommended "; "}}</p>{{end}}
{{if .MissingPositions}}<p>Positions without data (not assumed reference): {{join .MissingPositions ", "}}</p>{{end}}
{{if .OutsideCall}}<p>From an outside call (clinical laboratory).</p>{{end}}
</details></td>
</tr>
{{end}}</tbody>
</table>
{{if .Recommendations}}
<h3>Prescribing recommendations</h3>
<table>
<thead><tr><th scope="col">Drug</th><th scope="col">Based on</th><th scope="col">Recommendation</th><th scope="col">Strength</th><th scope="col">Source</th></tr></thead>
<tbody>
{{range .Recommendations}}<tr>
<th scope="row">{{.Drug}}{{if .Population}}<br><small>{{.Population}}</small>{{end}}</th>
<td>{{.Phenotype}}{{if .Ambiguous}}<br><strong>Ambiguous call: every matching recommendation is shown</strong>{{end}}</td>
<td>{{.Text}}{{if .Note}}<br><small>{{.Note}}</small>{{end}}</td>
<td class="strength">{{if .Strength}}{{.Strength}}{{else}}none{{end}}</td>
<td>{{.Guideline}}</td>
</tr>
{{end}}</tbody>
</table>
{{end}}
{{$w := false}}{{range .Calls}}{{if .Warnings}}{{$w = true}}{{end}}{{end}}
{{if $w}}<h3>Warnings</h3>
<ul>
{{range .Calls}}{{$g := .Gene}}{{range .Warnings}}<li class="warn">{{$g}}: {{.}}</li>
{{end}}{{end}}</ul>{{end}}
</section>
{{end}}
<h2>Data versions</h2>
<ul>
{{if .Result}}<li>Definitions and phenotypes: {{.Result.DataVersion}}</li>{{if .Result.Build}}<li>Genome build: {{.Result.Build}}</li>{{end}}{{end}}
{{if .GuidanceVersion}}<li>Guidance: {{.GuidanceVersion}}</li>{{end}}
</ul>
{{if .Result}}{{if .Result.Warnings}}<h2>File warnings</h2><ul>{{range .Result.Warnings}}<li class="warn">{{.}}</li>{{end}}</ul>{{end}}{{end}}
</body>
</html>
`))
