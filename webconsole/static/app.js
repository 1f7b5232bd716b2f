// The console's router: one page module per route, chosen by the URL fragment. Pages get their data from
// /console/api (what to show) and /v1 (what to check); every check runs in this browser, against the key
// the user pinned (pages/trust.js).

import { auditPage } from "./pages/audit.js";
import { budgetsPage } from "./pages/budgets.js";
import { contractPage, contractsPage } from "./pages/contracts.js";
import { entryPage } from "./pages/entry.js";
import { explorer, stopLive } from "./pages/explorer.js";
import { lineagePage } from "./pages/lineage.js";
import { scenariosPage, takeToken } from "./pages/scenarios.js";
import { showTrust, trustPage } from "./pages/trust.js";
import { readerPrompt } from "./read.js";
import { errorBox, h, main, show } from "./util.js";

const routes = [
  [/^\/(entries)?$/, explorer],
  [/^\/entry\/(\d+)$/, entryPage],
  [/^\/contracts$/, contractsPage],
  [/^\/contract\/(.+)$/, contractPage],
  [/^\/lineage(?:\/(.+))?$/, lineagePage],
  [/^\/budgets(?:\/(.+))?$/, budgetsPage],
  [/^\/audit(?:\/(.+))?$/, auditPage],
  [/^\/scenarios$/, scenariosPage],
  [/^\/trust$/, trustPage],
];

async function route() {
  stopLive();
  const raw = location.hash.slice(1) || "/";
  const [path, query] = raw.split("?");
  const params = new URLSearchParams(query || "");
  for (const a of document.querySelectorAll("nav a")) {
    const here = a.getAttribute("href").slice(1);
    a.toggleAttribute("aria-current", here === "/" ? path === "/" || path.startsWith("/entr") : path.startsWith(here));
  }
  for (const [pattern, page] of routes) {
    const m = pattern.exec(path);
    if (!m) continue;
    show(h("p", { class: "loading", role: "status" }, "Loading..."));
    try {
      await page(params, ...m.slice(1).map((x) => (x && x !== "entries" ? decodeURIComponent(x) : undefined)));
    } catch (error) {
      const unreadable = error.status === 401 || error.status === 403;
      show(h("h1", {}, unreadable ? "Who is reading?" : "Something went wrong"), errorBox(error),
        unreadable ? readerPrompt(route) : null);
    }
    main.focus({ preventScroll: true });
    return;
  }
  show(h("h1", {}, "Not found"), h("p", {}, `The console has no page ${path}.`));
}

takeToken();
window.addEventListener("hashchange", route);
showTrust();
route();
