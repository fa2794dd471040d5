// Test oracle for generated Kubernetes objects:
//   node scripts/k8s/validate.js FILE.yaml...
// Every PrometheusRule is validated against prometheus-operator's CRD schema (the openAPIV3Schema of
// monitoring.coreos.com_prometheusrules.yaml, compiled by @kubernetes-models/prometheus-operator);
// exit 1 with the schema's complaints. Installed by scripts/test.sh (`npm ci --prefix scripts/k8s`).
import fs from "node:fs";
import { parseAllDocuments } from "yaml";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";

let failed = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    const obj = doc.toJS();
    if (!obj || obj.kind !== "PrometheusRule") continue;
    checked += 1;
    try {
      new PrometheusRule(obj).validate();
    } catch (e) {
      failed += 1;
      console.log(`${file}: ${e.message}`);
    }
  }
}
console.log(`${checked} PrometheusRule objects checked, ${failed} invalid`);
process.exit(failed === 0 && checked > 0 ? 0 : 1);
