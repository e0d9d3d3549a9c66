package risk

import (
	"bytes"
	"fmt"
	"html"
	"math"
)

// DistributionSVG draws where the person sits on the reference
// distribution: the standard normal density of z, the share below the
// person shaded, a marker at their z with their percentile, and the axis
// in both SD units and percentiles. It is a self-contained SVG (no
// scripts, no external fonts or images) for the portal.
func DistributionSVG(a Assessment) []byte {
	const (
		w, h         = 640.0, 300.0
		left, right  = 40.0, 560.0
		top, base    = 60.0, 230.0
		zmin, zmax   = -4.0, 4.0
		peak         = 0.3989422804014327 // φ(0)
		steps        = 160
		shade, curve = "#c9daf8", "#1c4587"
	)
	x := func(z float64) float64 { return left + (z-zmin)/(zmax-zmin)*(right-left) }
	y := func(z float64) float64 { return base - (base-top)*math.Exp(-z*z/2)/math.Sqrt(2*math.Pi)/peak }
	z := math.Max(zmin, math.Min(zmax, a.Z))
	if math.IsNaN(z) {
		z = 0
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`+"\n",
		w, h, w, h, html.EscapeString(fmt.Sprintf("Your score is at the %s percentile of the reference distribution", ordinal(a.Percentile))))
	b.WriteString(`<rect width="100%" height="100%" fill="#ffffff"/>` + "\n")
	b.WriteString(`<g font-family="sans-serif" fill="#222222">` + "\n")
	title := "Where your score sits among the reference population"
	fmt.Fprintf(&b, `<text x="%.0f" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	if a.Category != "" {
		fmt.Fprintf(&b, `<text x="%.0f" y="44" font-size="13">%s</text>`+"\n", left, html.EscapeString(a.Category))
	}
	// Shaded area: the share of people with a lower score.
	fmt.Fprintf(&b, `<path d="M%.1f %.1f`, x(zmin), base)
	for i := 0; i <= steps; i++ {
		t := zmin + (z-zmin)*float64(i)/steps
		fmt.Fprintf(&b, " L%.1f %.1f", x(t), y(t))
	}
	fmt.Fprintf(&b, ` L%.1f %.1f Z" fill="%s"/>`+"\n", x(z), base, shade)
	// The density curve.
	b.WriteString(`<path d="`)
	for i := 0; i <= steps; i++ {
		t := zmin + (zmax-zmin)*float64(i)/steps
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&b, "%s%.1f %.1f ", cmd, x(t), y(t))
	}
	fmt.Fprintf(&b, `" fill="none" stroke="%s" stroke-width="2"/>`+"\n", curve)
	// Axis with SD and percentile labels.
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#555555"/>`+"\n", left, base, right, base)
	for t := -3; t <= 3; t++ {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#555555"/>`, x(float64(t)), base, x(float64(t)), base+5)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="middle">%s</text>`, x(float64(t)), base+18, sdLabel(t))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" text-anchor="middle" fill="#666666">%s</text>`+"\n", x(float64(t)), base+32, pctLabel(Percentile(float64(t))))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="#666666">percentile</text>`+"\n", right+4, base+32)
	// The person.
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#cc0000" stroke-width="3"/>`+"\n", x(z), top-2, x(z), base)
	anchor := "start"
	lx := x(z) + 8
	if z > 1.5 {
		anchor, lx = "end", x(z)-8
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="13" font-weight="bold" fill="#cc0000" text-anchor="%s">You: %s percentile</text>`+"\n", lx, top+12, anchor, ordinal(a.Percentile))
	fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="11" fill="#cc0000" text-anchor="%s">z = %.2f</text>`+"\n", lx, top+27, anchor, a.Z)
	note := fmt.Sprintf("Shaded: the %s%% of people with a lower score.", pctLabel(a.Percentile))
	if abs := a.Absolute; abs != nil {
		note += fmt.Sprintf(" 10-year risk %.1f%% (average at age %d: %.1f%%).", abs.TenYear, abs.Age, abs.PopulationTenYear)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12">%s</text>`+"\n", left, h-14, html.EscapeString(note))
	b.WriteString("</g>\n</svg>\n")
	return b.Bytes()
}

func sdLabel(t int) string {
	if t == 0 {
		return "mean"
	}
	return fmt.Sprintf("%+d SD", t)
}

func pctLabel(p float64) string {
	switch {
	case p < 1:
		return fmt.Sprintf("%.1f", p)
	case p > 99:
		return fmt.Sprintf("%.1f", p)
	}
	return fmt.Sprintf("%.0f", p)
}

// ordinal writes a percentile as "84th"; below 1 and above 99 with one
// decimal, since "0th" and "100th" would be wrong.
func ordinal(p float64) string {
	if p < 1 || p > 99 {
		return fmt.Sprintf("%.1fth", p)
	}
	n := int(math.Round(p))
	suf := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suf = "st"
		case 2:
			suf = "nd"
		case 3:
			suf = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suf)
}
