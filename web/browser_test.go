package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is the browser the real-browser test drives;
// GENEGUARD_CHROMIUM overrides it.
func chromiumPath() string {
	if p := os.Getenv("GENEGUARD_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// screenshotDir receives one PNG per page visited, for a human to look at.
const screenshotDir = "/tmp"

// TestBrowser drives a real Chromium through the main story: a patient
// gives consent and sees it take effect; a physician then finds the
// patient and sees the result, finding first.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	exe := chromiumPath()
	if _, err := os.Stat(exe); err != nil {
		t.Skipf("no browser at %s (apt-get install -y chromium, or set GENEGUARD_CHROMIUM): %v", exe, err)
	}
	e := newEnv(t)
	profile := t.TempDir()

	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1100, 900),
	)
	t.Cleanup(cancelAlloc) // runs before TempDir's cleanup: the browser is gone when its profile is removed
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	// The first call starts the browser and must not carry a timeout (that
	// would stop the browser with it); later calls share a deadline.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	t.Cleanup(cancel)

	base := e.srv.URL
	type step = chromedp.Action[chromedp.Void]
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	shot := func(name string) step {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			path := filepath.Join(screenshotDir, "geneguard-web-"+name+".png")
			t.Logf("screenshot %s", path)
			return os.WriteFile(path, png, 0o644)
		})
	}
	do := func(what string, steps ...step) {
		t.Helper()
		err := chromedp.Do(ctx, steps...)
		if err != nil && strings.Contains(err.Error(), "Not attached to an active page") {
			// A known chromedp race: an action lands while the previous
			// click's navigation swaps the page. Every step list starts
			// from a navigation or a fresh page state, so it is safe to
			// run it once more; any other failure is real.
			t.Logf("%s: %v; retrying once", what, err)
			err = chromedp.Do(ctx, steps...)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	signIn := func(pick string) step {
		return chromedp.Steps(
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(css(`button[name="pick"]`)),
			chromedp.Click(css(`button[name="pick"][value="`+pick+`"]`)),
		)
	}
	signOut := chromedp.Steps(
		chromedp.Click(css(`header form[action="/logout"] button`)),
		chromedp.WaitVisible(css(`a.button[href="/login"]`)),
	)

	do("home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("h1")), shot("home"))

	// A mistyped personal code is explained on the sign-in page.
	do("bad code",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(css("#code")),
		chromedp.SendKeys(css("#code"), "60001019907"),
		chromedp.Submit(css("#code")),
		chromedp.WaitVisible(css("#login-error")),
		shot("login"),
	)
	if got := text("#login-error"); !strings.Contains(got, "check digit 7, want 6") {
		t.Errorf("sign-in error = %q", got)
	}

	// The patient gives consent and sees the state change.
	const alg = "#alg-pgx-cyp2c19"
	do("patient signs in", signIn("EE"+codeMari), chromedp.WaitVisible(css(alg+" .state")), shot("patient-before"))
	before := text(alg + " .state")
	do("patient gives consent",
		chromedp.Click(css(alg+` button[type="submit"]`)),
		chromedp.WaitVisible(css(alg+` [data-state="granted"]`)),
		chromedp.Click(css(alg+" details summary")),
		shot("patient-after"),
	)
	if after := text(alg + " .state"); before != "Consent not given" || after != "Consent given" {
		t.Errorf("consent state %q → %q, want Consent not given → Consent given", before, after)
	}
	if flash, category := text(".flash"), text(".result .category"); !strings.Contains(flash, "You have given consent") || category != "Poor Metabolizer" {
		t.Errorf("after consent: flash %q, result category %q", flash, category)
	}
	do("access log",
		chromedp.Click(css(`main a[href="/patient/access-log"]`)),
		chromedp.WaitVisible(css("table")),
		shot("access-log"),
	)
	if got := text("table"); !strings.Contains(got, "Gave consent") {
		t.Errorf("access log: %q", got)
	}
	do("patient signs out", signOut)

	// The physician finds her and sees the finding first. The search box
	// is named by its form: the sign-in page has a #code too, and waiting
	// for that one raced the sign-in's navigation (the code then went into
	// the patient sign-in form and the physician page never came).
	const search = `form[action="/physician/search"] #code`
	do("physician",
		signIn(physician),
		chromedp.WaitVisible(css(search)),
		shot("physician-search"),
		chromedp.SendKeys(css(search), codeMari),
		chromedp.Submit(css(search)),
		chromedp.WaitVisible(css(".category.big")),
		chromedp.Click(css(".result details summary")),
		chromedp.WaitVisible(css(".result details pre")),
		shot("physician-patient"),
	)
	if big, details := text(".category.big"), text(".result details pre"); big != "Poor Metabolizer" || !strings.Contains(details, `"diplotype": "*2/*2"`) {
		t.Errorf("physician sees category %q, details %q", big, details)
	}
	do("patient without consent",
		chromedp.Navigate(base+"/physician"),
		chromedp.WaitVisible(css(search)),
		chromedp.SendKeys(css(search), codeJaan),
		chromedp.Submit(css(search)),
		chromedp.WaitVisible(css(".notice")),
		shot("physician-no-results"),
	)
	if got := text(".notice"); !strings.Contains(got, "No results in clinical view") {
		t.Errorf("no-consent notice = %q", got)
	}

	do("status", chromedp.Navigate(base+"/status"), chromedp.WaitVisible(css("svg.progress")), shot("status"))
	refresh, err := chromedp.Run(ctx, chromedp.AttributeValue(css(`meta[http-equiv="refresh"]`), "content"))
	if err != nil || refresh.Value != "5" {
		t.Errorf("status refresh = %+v, %v; want 5", refresh, err)
	}
}
