/**
 * Builds the agent into one CommonJS file (esbuild, on the operator's machine) from the
 * project's own TypeScript: the same DNS and ACME code provision uses. Servers run it with
 * Debian's nodejs; no npm on the servers. The result is cached for the process.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ENTRY = fileURLToPath(new URL('./main.ts', import.meta.url));
/** Debian 12's nodejs is 18. */
export const AGENT_NODE_TARGET = 'node18';

let cached: Promise<string> | undefined;

export function agentBundle(): Promise<string> {
  cached ??= build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    target: AGENT_NODE_TARGET,
    format: 'cjs',
    write: false,
    legalComments: 'none',
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'silent',
    banner: { js: '// Shoestring agent: built by provision from src/agent (do not edit here).' },
  }).then((r) => {
    const file = r.outputFiles[0];
    if (!file) throw new Error('esbuild produced no output for the agent');
    return file.text;
  });
  return cached;
}
