// Peers and servers the benchmarks run for real come from Debian packages. On a fresh machine root
// installs a missing one with apt-get, as `npm test` does for its own (test/prerequisites.ts).
import { spawnSync } from 'node:child_process';

/**
 * Installs `pkg` unless `present()` already holds; '' once it holds, else one line saying why not
 * (not root, or what apt-get said). apt-get update runs only when the package lists do not know the package.
 */
export function installWhenMissing(pkg: string, present: () => boolean): string {
  if (present()) return '';
  if (process.getuid?.() !== 0) return `installing it (apt-get install -y ${pkg}) needs root`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', pkg], { env, encoding: 'utf8' });
  let out = install();
  if (out.status !== 0) {
    spawnSync('apt-get', ['update'], { env, encoding: 'utf8' });
    out = install();
  }
  if (out.status === 0 && present()) return '';
  const said = `${out.stderr ?? ''}\n${out.stdout ?? ''}`.trim().split('\n').filter(Boolean).at(-1);
  return `apt-get install -y ${pkg} failed (${said ?? out.error?.message ?? `exit status ${out.status}`})`;
}
