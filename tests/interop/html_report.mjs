// The HTML report in a real browser: Debian's Chromium, driven by playwright-core, opens
// each report from a file with the network off (the caller runs this in a network
// namespace with no link but loopback, and any request that is not the file itself fails
// the run), and checks what a person sees.
//
//   node html_report.mjs CHROMIUM SHOTS_DIR workload.html workload.json hostile.html big.html
//
// workload: the rows are the calls of the JSON export of the same recording; a click on a
// row opens that call's detail; a screenshot of each is kept in SHOTS_DIR.
// hostile: markup in tool names, messages and arguments stays text, and runs nothing.
// big: 10,000 calls: rows still render, and the time to the first screen is printed.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(process.cwd() + "/");
const { chromium } = require("playwright-core");

const [chromiumPath, shots, workloadHtml, workloadJson, hostileHtml, bigHtml] = process.argv.slice(2);
let failed = 0;
function check(ok, what) {
  console.log((ok ? "ok: " : "FAILED: ") + what);
  if (!ok) failed++;
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function open(file, width = 1280, height = 800) {
  const context = await browser.newContext({ viewport: { width, height } });
  await context.setOffline(true);
  const page = await context.newPage();
  const problems = [];
  page.on("request", (r) => { if (!r.url().startsWith("file:")) problems.push("request " + r.url()); });
  page.on("pageerror", (e) => problems.push("page error " + e.message));
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push("console " + m.text()); });
  const started = Date.now();
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector("html[data-ready='1']", { timeout: 60000 });
  const loadMs = Date.now() - started;
  return { context, page, problems, loadMs };
}

// ---- the workload's report -----------------------------------------------------------
{
  const doc = JSON.parse(readFileSync(workloadJson, "utf8"));
  const { context, page, problems } = await open(workloadHtml);
  check(await page.title() === doc.title + " \u2014 mcptop", "the title is the recording's: " + await page.title());
  const rows = await page.$$eval("#spacer .row:not([hidden])", (rs) => rs.map((r) => ({
    id: Number(r.dataset.call),
    tool: r.querySelector(".c-tool").textContent,
    state: r.querySelector(".c-state").textContent,
  })));
  const fits = await page.$eval("#viewport", (v) => Math.floor(v.clientHeight / 24));
  const firstByStart = doc.calls.slice().sort((a, b) => a.start_s - b.start_s || a.id - b.id)
    .slice(0, rows.length).map((c) => c.id);
  check(rows.length >= Math.min(doc.calls.length, fits) &&
    JSON.stringify(rows.map((r) => r.id)) === JSON.stringify(firstByStart),
    rows.length + " rows on screen for " + doc.calls.length + " calls, the first to start first");
  const byId = new Map(doc.calls.map((c) => [c.id, c]));
  check(rows.every((r) => byId.has(r.id) && byId.get(r.id).tool === r.tool),
    "every row is a call of the export, with its tool");
  const counted = await page.textContent("#calls-count");
  check(counted === "(" + doc.calls.length + ")", "the calls are counted: " + counted);
  const toolRows = await page.$$eval("#tools tbody tr td:first-child", (t) => t.map((x) => x.textContent));
  check(JSON.stringify(toolRows) === JSON.stringify(doc.tools.map((t) => t.tool)),
    "the tools table lists " + toolRows.join(", "));
  const bars = await page.$$eval("#spacer .row:not([hidden]) .bar", (b) => b.filter((x) => !x.hidden && x.getBoundingClientRect().width >= 1).length);
  check(bars === rows.length, bars + " waterfall bars drawn");
  await page.screenshot({ path: shots + "/report-workload.png", fullPage: false });

  // A click on a row opens its detail.
  const pick = doc.calls.find((c) => c.arguments !== null || c.messages.length) || doc.calls[0];
  await page.click(`#spacer .row[data-call='${pick.id}']`);
  await page.waitForSelector("#detail:not([hidden])");
  const heading = await page.textContent("#detail h3");
  check(heading.startsWith(pick.tool), "a click on " + pick.tool + " opens its detail: " + heading);
  const detailText = await page.textContent("#detail");
  check(detailText.includes(pick.status === "running" ? (pick.waiting ? "waiting" : "running at end") : pick.status),
    "the detail says how it ended: " + pick.status);
  if (pick.messages.length) {
    const last = pick.messages[pick.messages.length - 1].text;
    check(detailText.includes(last), "the detail lists its messages (" + last + ")");
  }
  if (pick.arguments !== null) {
    const args = await page.textContent("#detail pre.args");
    check(JSON.stringify(JSON.parse(args)) === JSON.stringify(pick.arguments), "the detail shows its arguments");
  }
  check(await page.$eval(`#spacer .row[data-call='${pick.id}']`, (r) => r.classList.contains("sel")), "its row is marked");
  await page.screenshot({ path: shots + "/report-detail.png", fullPage: false });

  // Hover shows a tooltip; zooming narrows the window.
  await page.hover(`#spacer .row[data-call='${pick.id}'] .bar`);
  const tip = await page.$eval("#tip", (t) => (t.hidden ? "" : t.textContent));
  check(tip.startsWith(pick.tool), "hovering its bar tells about it: " + tip.split("\n")[0]);
  await page.keyboard.press("Escape");
  check(await page.$eval("#detail", (d) => d.hidden), "Esc closes the detail");
  await page.click("#zoom-in");
  const windowText = await page.textContent("#window");
  check(windowText.startsWith("showing +"), "zooming in shows part of the session: " + windowText);
  await page.click("#zoom-reset");

  // Filtering by status.
  await page.selectOption("#status", "done");
  const done = doc.calls.filter((c) => c.status === "done").length;
  const doneCount = await page.textContent("#calls-count");
  check(doneCount === (done === doc.calls.length ? "(" + done + ")" : "(" + done + " of " + doc.calls.length + ")"),
    "the status filter keeps the done calls: " + doneCount);
  check(problems.length === 0, "no request, error or warning: " + (problems.join("; ") || "none"));
  // A narrow window still shows the calls.
  await page.setViewportSize({ width: 400, height: 700 });
  await page.selectOption("#status", "");
  const narrow = await page.$$eval("#spacer .row:not([hidden]) .c-tool", (t) => t.filter((x) => x.getBoundingClientRect().width > 40).length);
  check(narrow > 0, "at 400 px wide the tools still show (" + narrow + " rows)");
  await page.screenshot({ path: shots + "/report-narrow.png", fullPage: false });
  await context.close();
}

// ---- a hostile recording ---------------------------------------------------------------
{
  const { context, page, problems } = await open(hostileHtml);
  const pwned = await page.evaluate(() => window.pwned === true || document.querySelectorAll("body img, body iframe, body object").length > 0);
  check(!pwned, "markup from the recording ran nothing and made no element");
  const tools = await page.$$eval("#spacer .row:not([hidden]) .c-tool", (t) => t.map((x) => x.textContent));
  check(tools.some((t) => t.includes("<img")), "a tool named with markup shows as text: " + tools.join(" | "));
  await page.click("#spacer .row:not([hidden])");
  await page.waitForSelector("#detail:not([hidden])");
  const pre = await page.$$eval("#detail pre", (p) => p.map((x) => x.textContent).join("\n"));
  check(pre.includes("</script>"), "arguments that close a script show as text");
  check(problems.filter((p) => !p.startsWith("console")).length === 0, "no request and no page error: " + (problems.join("; ") || "none"));
  await context.close();
}

// ---- 10,000 calls ------------------------------------------------------------------------
{
  const { context, page, problems, loadMs } = await open(bigHtml);
  const info = await page.evaluate(() => window.mcptopReport);
  const rows = await page.$$eval("#spacer .row:not([hidden])", (r) => r.length);
  check(info.calls === 10000 && rows > 10 && rows < 200, info.calls + " calls, " + rows + " rows in the DOM (only what is on screen)");
  await page.evaluate(() => { const v = document.getElementById("viewport"); v.scrollTop = v.scrollHeight; });
  await page.waitForFunction(() => [...document.querySelectorAll("#spacer .row:not([hidden])")].some((r) => r.getBoundingClientRect().top > 0 && Number(r.dataset.call) > 9900));
  check(true, "scrolled to the end, the last calls render");
  check(problems.length === 0, "no request, error or warning: " + (problems.join("; ") || "none"));
  console.log(`load: 10,000 calls to the first screen in ${loadMs} ms (the page's own script: ${info.renderMs.toFixed(0)} ms)`);
  await page.screenshot({ path: shots + "/report-10k.png", fullPage: false });
  await context.close();
}

await browser.close();
if (failed) {
  console.log(failed + " check(s) failed");
  process.exit(1);
}
