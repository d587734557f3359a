// The router: one view per path; each view reads the URL, so every URL reproduces its view.
import { h, navigate, errorBox } from "./lib.js";

const VIEWS = {
  "": () => import("./views/search.js"),
  search: () => import("./views/search.js"),
  trace: () => import("./views/trace.js"),
  errors: () => import("./views/errors.js"),
  map: () => import("./views/map.js"),
  doctor: () => import("./views/doctor.js"),
  compare: () => import("./views/compare.js"),
  bottleneck: () => import("./views/bottleneck.js"),
};

let current = null;   // the mounted view's cleanup function

async function render() {
  const app = document.getElementById("app");
  const [first, ...rest] = location.pathname.replace(/^\/+/, "").split("/");
  const loader = VIEWS[first];
  // a view may take a new query on its own path without being mounted again (the trace view's ?span=)
  if (current?.onLocation && current.path === location.pathname) return current.onLocation();
  if (typeof current === "function") current();
  current = null;
  document.querySelectorAll("[data-nav]").forEach(a =>
    a.classList.toggle("active", a.dataset.nav === (first || "search")));
  app.replaceChildren();
  if (!loader) {
    document.title = "Not found · Spanhouse";
    app.append(h("div", { class: "empty" }, h("p", { class: "empty-title" }, "No such page"),
                 h("a", { href: "/" }, "Back to search")));
    return;
  }
  try {
    const view = await loader();
    current = await view.mount(app, { path: rest.map(decodeURIComponent), home: first === "" });
  } catch (err) {
    console.error(err);
    app.append(errorBox(err));
  }
}

// Same-origin links navigate without reloading the page.
document.addEventListener("click", e => {
  const a = e.target.closest("a[href]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api") || url.pathname.startsWith("/static")) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener("popstate", render);
window.addEventListener("spanhouse:navigate", render);

document.getElementById("theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  localStorage.setItem("spanhouse.theme", next);
});

document.getElementById("goto").addEventListener("submit", e => {
  e.preventDefault();
  const id = e.target.trace.value.trim().toLowerCase();
  if (id) navigate(`/trace/${encodeURIComponent(id)}`);
  e.target.trace.value = "";
});

render();
