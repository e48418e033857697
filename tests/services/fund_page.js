// A supporter on a phone pays through the real payment page (`/fund/<projectId>`) in Debian's Chromium,
// driven by playwright-core (pinned in package.json). Run by the Rust payments tests:
//
//   node fund_page.js '<options as JSON>'
//
// Options: {url, payments: [{amount: "12.34", name, message, card, threeDSecure?: true}],
//           chromium?: "/usr/bin/chromium"}
// For each payment it fills the form and the card element, presses Pay, completes the 3-D Secure step
// when asked to, and waits until the page's progress bar moves (the page polls the project until the
// webhook has credited it). It prints one JSON object on stdout:
//   {"payments": [{"status": <the page's status line>, "before": <aria-valuenow>, "after": ..,
//                  "raised": <the page's raised line>, "threeDSecureShown": bool}],
//    "cspViolations": [..], "cspProbe": [<the violation a deliberate outside image caused>],
//    "pageErrors": [..], "overflowsPhoneWidth": bool}
"use strict";

const { chromium } = require("playwright-core");

const options = JSON.parse(process.argv[2] || "{}");

async function main() {
  const browser = await chromium.launch({
    executablePath: options.chromium || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const result = { payments: [], cspViolations: [], pageErrors: [] };
  try {
    // A phone: narrow, touch, the page's viewport meta in effect.
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    const page = await context.newPage();
    page.on("pageerror", (err) => result.pageErrors.push(String(err)));
    await page.exposeFunction("reportCspViolation", (v) => result.cspViolations.push(v));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) =>
        window.reportCspViolation(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await page.goto(options.url, { waitUntil: "load" });
    await page.waitForSelector("#pay:not([hidden])", { timeout: 15000 });
    await page.waitForSelector("#card input[placeholder=number]", { timeout: 15000 });
    result.overflowsPhoneWidth = await page.evaluate(
      () => document.documentElement.scrollWidth > window.innerWidth,
    );

    for (const pay of options.payments || []) {
      const before = await page.getAttribute("#progress", "aria-valuenow");
      const raisedBefore = await page.textContent("#raised");
      await page.fill("#amount", pay.amount);
      await page.fill("#name", pay.name || "");
      await page.fill("#message", pay.message || "");
      // localstripe's card element: number, exp_month, exp_year (two digits), cvc, postal_code.
      await page.fill("#card input[placeholder=number]", pay.card);
      await page.fill("#card input[placeholder=exp_month]", "12");
      await page.fill("#card input[placeholder=exp_year]", "34");
      await page.fill("#card input[placeholder=cvc]", "123");
      await page.fill("#card input[placeholder=postal_code]", "42424");
      await page.tap("#submit");
      let threeDSecureShown = false;
      if (pay.threeDSecure) {
        const complete = page.getByRole("button", { name: "Complete authentication" });
        await complete.waitFor({ timeout: 15000 });
        threeDSecureShown = true;
        await complete.click();
      }
      // The page re-enables Pay when it is done: after an error, or once the project shows the payment.
      await page.waitForFunction(
        (previous) => {
          const status = document.getElementById("status");
          const raised = document.getElementById("raised").textContent;
          return status.className === "error" || raised !== previous;
        },
        raisedBefore,
        { timeout: 60000 },
      );
      await page.waitForSelector("#submit:not([disabled])", { timeout: 60000 });
      result.payments.push({
        status: await page.textContent("#status"),
        before,
        after: await page.getAttribute("#progress", "aria-valuenow"),
        raised: await page.textContent("#raised"),
        threeDSecureShown,
      });
    }
    // The listener itself is checked: an image from elsewhere must be reported (default-src 'none').
    const seen = result.cspViolations.length;
    await page.evaluate(() => {
      const img = document.createElement("img");
      img.src = "https://csp-probe.invalid/x.png";
      document.body.appendChild(img);
    });
    for (let i = 0; i < 50 && result.cspViolations.length === seen; i++) await page.waitForTimeout(100);
    result.cspProbe = result.cspViolations.splice(seen);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
