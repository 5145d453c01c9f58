// A typed use of the types openapi-typescript generates from
// openapi/openapi.json, compiled with `tsc --strict`: if the document's
// shapes change in a way that breaks this code, CI fails.
import type { components, operations, paths } from "./palisade";

type Schemas = components["schemas"];

const severities: Schemas["Severity"][] = ["info", "low", "medium", "high", "critical"];

const asset: Schemas["AssetFields"] = {
  name: "Customer database",
  kind: "data",
  classification: "restricted",
  cia: { confidentiality: "high", integrity: "high", availability: "medium" },
  tags: ["pci"],
};

const cvss: Schemas["Assessment"] = {
  method: "cvss31",
  vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
};

const tree: Schemas["Assessment"] = {
  method: "attack_tree",
  tree_id: "01890000-0000-7000-8000-000000000000",
  impact: "very_high",
};

const threat: Schemas["ThreatInput"] = {
  title: "SQL injection",
  stride: "tampering",
  assessment: cvss,
};

const frequency: Schemas["Frequency"] = { pert: { min: 0.5, most_likely: 2, max: 6 } };

function methodOf(a: Schemas["Assessment"]): Schemas["Method"] {
  // The discriminator narrows the union.
  switch (a.method) {
    case "attack_tree":
      return a.impact === "very_high" ? "attack_tree" : a.method;
    default:
      return a.method;
  }
}

function worst(register: Schemas["RiskRegister"]): Schemas["Severity"] | undefined {
  return register.items.map((r) => r.residual_severity).sort().pop();
}

type CreateModel = operations["createModel"]["requestBody"] extends infer B
  ? B extends { content: { "application/json": infer J } }
    ? J
    : never
  : never;
const model: CreateModel = { name: "Payments", risk_appetite: "medium" };

type ListAssets = paths["/api/v1/models/{model_id}/assets"]["get"];
const query: NonNullable<ListAssets["parameters"]["query"]> = { kind: "data", limit: 50 };

export const used = [severities, asset, threat, tree, frequency, methodOf(cvss), worst, model, query];
