// Test oracle for generated Terraform, using HashiCorp's own Go code compiled to WebAssembly:
//   node scripts/hcl/hcl.js fmt-check FILE.tf...  exit 1 and a diff-like report when `terraform fmt`
//                                               (hclwrite.Format) would change a file
//   node scripts/hcl/hcl.js parse FILE.tf...      print {file: body} as JSON (HCL's own parser;
//                                               exit 1 with its message on invalid HCL)
// Installed by scripts/test.sh (`npm ci --prefix scripts/hcl`).
const fs = require("fs");
const { format } = require("@cdktf/hcl-tools");
const { parse } = require("@cdktf/hcl2json");

async function fmtCheck(files) {
  let changed = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    const formatted = await format(text);
    if (formatted !== text) {
      changed += 1;
      const a = text.split("\n");
      const b = formatted.split("\n");
      const at = a.findIndex((line, i) => line !== b[i]);
      console.log(`${file}: terraform fmt would change line ${at + 1}`);
      console.log(`- ${a[at]}\n+ ${b[at]}`);
    }
  }
  return changed === 0 ? 0 : 1;
}

async function parseAll(files) {
  const out = {};
  for (const file of files) {
    try {
      out[file] = await parse(file, fs.readFileSync(file, "utf8"));
    } catch (e) {
      console.error(`${file}: ${e.message || e}`);
      return 1;
    }
  }
  console.log(JSON.stringify(out));
  return 0;
}

(async () => {
  const [command, ...files] = process.argv.slice(2);
  const run = { "fmt-check": fmtCheck, parse: parseAll }[command];
  if (!run || files.length === 0) {
    console.error("usage: node hcl.js fmt-check|parse FILE...");
    process.exit(2);
  }
  process.exit(await run(files));
})();
