// Test oracle for Kubernetes objects alertlab generates or ships:
//   node scripts/k8s/validate.js FILE.yaml...
// Every PrometheusRule is validated against prometheus-operator's CRD schema (the openAPIV3Schema of
// monitoring.coreos.com_prometheusrules.yaml, compiled by @kubernetes-models/prometheus-operator),
// every batch/v1 Job against Kubernetes' own OpenAPI schema (compiled by kubernetes-models);
// exit 1 with the schema's complaints. Unknown fields are errors too: the API server prunes them
// silently, so a field the schema does not know is a field that never reaches Prometheus. The known
// fields of each object are read from the same compiled schema (every property it validates is
// passed as `parentDataProperty:"name"`). Installed by scripts/test.sh (`npm ci --prefix scripts/k8s`).
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { Job } from "kubernetes-models/batch/v1/Job";

const require = createRequire(import.meta.url);
const pkgDir = (name) => path.dirname(require.resolve(`${name}/package.json`));

// The properties one compiled schema file validates.
function known(pkg, schema) {
  const text = fs.readFileSync(path.join(pkgDir(pkg), "_schemas", `${schema}.js`), "utf8");
  return new Set([...text.matchAll(/parentDataProperty:"([A-Za-z_][A-Za-z0-9_]*)"/g)].map((m) => m[1]));
}
const OP = "@kubernetes-models/prometheus-operator";
const V1 = "ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoringV1";
const K8S = "kubernetes-models";
const FIELDS = {
  job: known(K8S, "IoK8sApiBatchV1Job"),
  jobSpec: known(K8S, "IoK8sApiBatchV1JobSpec"),
  template: known(K8S, "IoK8sApiCoreV1PodTemplateSpec"),
  podSpec: known(K8S, "IoK8sApiCoreV1PodSpec"),
  container: known(K8S, "IoK8sApiCoreV1Container"),
  volume: known(K8S, "IoK8sApiCoreV1Volume"),
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

// Unknown fields of a Job down to its containers and volumes (the parts a manifest writes).
function unknownJobFields(obj) {
  const out = [...unknown(obj, FIELDS.job, ""), ...unknown(obj.metadata, FIELDS.metadata, "/metadata")];
  const spec = obj.spec ?? {};
  out.push(...unknown(spec, FIELDS.jobSpec, "/spec"));
  const template = spec.template ?? {};
  out.push(...unknown(template, FIELDS.template, "/spec/template"));
  out.push(...unknown(template.metadata, FIELDS.metadata, "/spec/template/metadata"));
  const pod = template.spec ?? {};
  out.push(...unknown(pod, FIELDS.podSpec, "/spec/template/spec"));
  for (const list of ["containers", "initContainers"]) {
    (pod[list] ?? []).forEach((c, i) => out.push(...unknown(c, FIELDS.container, `/spec/template/spec/${list}/${i}`)));
  }
  (pod.volumes ?? []).forEach((v, i) => out.push(...unknown(v, FIELDS.volume, `/spec/template/spec/volumes/${i}`)));
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
    if (!obj || !["PrometheusRule", "Job"].includes(obj.kind)) continue;
    checked += 1;
    const rule = obj.kind === "PrometheusRule";
    const problems = rule ? unknownFields(obj) : unknownJobFields(obj);
    try {
      (rule ? new PrometheusRule(obj) : new Job(obj)).validate();
    } catch (e) {
      problems.push(e.message);
    }
    if (problems.length > 0) {
      failed += 1;
      for (const p of problems) console.log(`${file}: ${p}`);
    }
  }
}
console.log(`${checked} objects (PrometheusRule, Job) checked, ${failed} invalid`);
process.exit(failed === 0 && checked > 0 ? 0 : 1);
