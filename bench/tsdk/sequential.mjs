// sequential.mjs: the TypeScript Agent SDK peer of the warm-start benchmark
// (pkg/agent/warm_bench_test.go, issue 15). It runs N one-line queries with
// the SDK's plain query(), one after another, with a think time between them
// (after one query's stream ends, before the next call), and prints one JSON
// object on stdout:
//
//   {"sdk":"0.3.328","latencies_ms":[...],"node_cpu_ms":123.4}
//
// latencies_ms[i] is from the call of query() to its result message;
// node_cpu_ms is this node process's own CPU time (user+system) over the run.
// Every query must end with a result that is not an error, or the script
// exits 1.
//
// The CLI's environment is this process's (the caller sets HOME,
// ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY, CLAUDE_CODE_MAX_RETRIES...).
//
//   node sequential.mjs --sdk .tools/tsdk --cli .tools/claude/node_modules/.bin/claude \
//     [--n 20] [--think-ms 1000] [--prompt 'say hello'] [--cwd DIR]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    sdk: { type: 'string' },
    cli: { type: 'string' },
    n: { type: 'string', default: '20' },
    'think-ms': { type: 'string', default: '1000' },
    prompt: { type: 'string', default: 'say hello' },
    cwd: { type: 'string', default: process.cwd() },
  },
});
if (!args.sdk || !args.cli) {
  console.error('sequential.mjs: --sdk DIR (where install-tsdk.sh installed the SDK) and --cli PATH are required');
  process.exit(2);
}
const n = Number(args.n);
const thinkMs = Number(args['think-ms']);

// The SDK is installed under --sdk, not beside this script: import it by path.
const pkgDir = join(resolve(args.sdk), 'node_modules', '@anthropic-ai', 'claude-agent-sdk');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const { query } = await import(pathToFileURL(join(pkgDir, pkg.exports['.'].default)).href);

const options = {
  pathToClaudeCodeExecutable: resolve(args.cli),
  cwd: args.cwd,
  env: { ...process.env },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpu0 = process.cpuUsage();
const latencies = [];
for (let i = 0; i < n; i++) {
  if (i > 0) await sleep(thinkMs);
  const start = performance.now();
  let result;
  for await (const msg of query({ prompt: args.prompt, options })) {
    if (msg.type === 'result' && result === undefined) {
      latencies.push(performance.now() - start);
      result = msg;
    }
  }
  if (!result || result.is_error) {
    console.error(`sequential.mjs: query ${i}: ${result ? JSON.stringify(result) : 'no result message'}`);
    process.exit(1);
  }
}
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ sdk: pkg.version, latencies_ms: latencies, node_cpu_ms: (cpu.user + cpu.system) / 1000 }));
