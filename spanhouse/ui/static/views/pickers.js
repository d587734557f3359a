// Service and operation pickers fed by the catalog (Jaeger's /api/services and
// /api/operations?service=): the lists of what was stored, a typed name kept when it is not
// (yet) in them. Jaeger's operation list needs a service, so none is asked for without one.
import { h, api } from "../lib.js";

export function catalogPickers({ service = "", operation = "", spanKind = "", anyService = "any service",
                                 anyOperation = "any operation" } = {}) {
  const services = h("select", { name: "service", "aria-label": "Service" }, h("option", { value: "" }, anyService));
  const operations = h("select", { name: "operation", "aria-label": "Operation" });
  let wanted = operation;
  const fillOperations = async () => {
    const names = [];
    if (services.value) {
      const ask = kind => api("/api/operations", { service: services.value, spanKind: kind })
        .then(b => (b.data || []).map(o => o.name)).catch(() => []);
      // the entry operations (server spans) when there are some, else every operation
      if (spanKind) names.push(...new Set(await ask(spanKind)));
      if (!names.length) names.push(...new Set(await ask("")));
      names.sort();
    }
    if (wanted && !names.includes(wanted)) names.unshift(wanted);
    operations.replaceChildren(...[h("option", { value: "" }, anyOperation),
      services.value ? null : h("option", { value: "", disabled: true, "data-hint": "pick-service" },
                                "pick a service to list its operations"),
      ...names.map(n => h("option", { value: n, selected: n === wanted }, n))].filter(Boolean));
    operations.dispatchEvent(new Event("filled"));
  };
  const ready = api("/api/services").then(body => {
    const names = [...(body.data || [])].sort();
    if (service && !names.includes(service)) names.unshift(service);
    for (const n of names) services.append(h("option", { value: n, selected: n === service }, n));
  }).catch(() => {
    if (service) services.append(h("option", { value: service, selected: true }, service));
  }).then(fillOperations);
  services.addEventListener("change", () => { wanted = ""; fillOperations(); });
  return { services, operations, ready };
}
