// Test oracle for generated Kubernetes objects:
//   node scripts/k8s/validate.js FILE.yaml...
// Every PrometheusRule is validated against prometheus-operator's CRD schema (the openAPIV3Schema of
// monitoring.coreos.com_prometheusrules.yaml, compiled by @kubernetes-models/prometheus-operator);
// exit 1 with the schema's complaints. Unknown fields are errors too: the API server prunes them
// silently, so a field the schema does not know is a field that never reaches Prometheus. The known
// fields of each object are read from the same compiled schema (every property it validates is
// passed as `parentDataProperty:"name"`). Installed by scripts/test.sh (`npm ci --prefix scripts/k8s`).
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";

const require = createRequire(import.meta.url);
const pkgDir = (name) => path.dirname(require.resolve(`${name}/package.json`));

// The properties one compiled schema file validates.
function known(pkg, schema) {
  const text = fs.readFileSync(path.join(pkgDir(pkg), "_schemas", `${schema}.js`), "utf8");
  return new Set([...text.matchAll(/parentDataProperty:"([A-Za-z_][A-Za-z0-9_]*)"/g)].map((m) => m[1]));
}
const OP = "@kubernetes-models/prometheus-operator";
const V1 = "ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoringV1";
const FIELDS = {
  rule: known(OP, `${V1}PrometheusRule`),
  metadata: known("@kubernetes-models/apimachinery", "IoK8sApimachineryPkgApisMetaV1ObjectMeta"),
  spec: known(OP, `${V1}PrometheusRuleSpec`),
  group: known(OP, `${V1}RuleGroup`),
  entry: known(OP, `${V1}Rule`),
};

// Every field of `obj` (at `where`) that `fields` does not know.
function unknown(obj, fields, where) {
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) return [];
  return Object.keys(obj)
    .filter((k) => !fields.has(k))
    .map((k) => `${where}/${k}: unknown field (the API server would prune it)`);
}

// Unknown fields anywhere in a PrometheusRule (labels and annotations are free-form maps).
function unknownFields(obj) {
  const out = [...unknown(obj, FIELDS.rule, ""), ...unknown(obj.metadata, FIELDS.metadata, "/metadata")];
  out.push(...unknown(obj.spec, FIELDS.spec, "/spec"));
  (obj.spec?.groups ?? []).forEach((g, i) => {
    out.push(...unknown(g, FIELDS.group, `/spec/groups/${i}`));
    (g?.rules ?? []).forEach((r, j) => out.push(...unknown(r, FIELDS.entry, `/spec/groups/${i}/rules/${j}`)));
  });
  return out;
}

if (FIELDS.entry.size < 5 || !FIELDS.entry.has("expr")) {
  console.log("could not read the Rule schema's fields from the compiled CRD schema");
  process.exit(2);
}

let failed = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    const obj = doc.toJS();
    if (!obj || obj.kind !== "PrometheusRule") continue;
    checked += 1;
    const problems = unknownFields(obj);
    try {
      new PrometheusRule(obj).validate();
    } catch (e) {
      problems.push(e.message);
    }
    if (problems.length > 0) {
      failed += 1;
      for (const p of problems) console.log(`${file}: ${p}`);
    }
  }
}
console.log(`${checked} PrometheusRule objects checked, ${failed} invalid`);
process.exit(failed === 0 && checked > 0 ? 0 : 1);
