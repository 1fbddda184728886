// Servers and peers that the tests and benchmarks run for real come from Debian packages. On a fresh
// machine root installs what is missing with apt-get; anyone else gets one line naming the command.
import { spawnSync } from 'node:child_process';

/**
 * Installs `packages` unless `present()` already holds; '' once it holds, else one line saying why not
 * (not root, or what apt-get said). apt-get update runs only when the package lists do not know a package.
 */
export function installWhenMissing(packages: string | readonly string[], present: () => boolean): string {
  if (present()) return '';
  const list = typeof packages === 'string' ? [packages] : [...packages];
  const command = `apt-get install -y ${list.join(' ')}`;
  if (process.getuid?.() !== 0) return `installing ${list.length > 1 ? 'them' : 'it'} (${command}) needs root`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', ...list], { env, encoding: 'utf8' });
  let out = install();
  if (out.status !== 0) {
    spawnSync('apt-get', ['update'], { env, encoding: 'utf8' });
    out = install();
  }
  if (out.status === 0 && present()) return '';
  const said = `${out.stderr ?? ''}\n${out.stdout ?? ''}`.trim().split('\n').filter(Boolean).at(-1);
  return `${command} failed (${said ?? out.error?.message ?? `exit status ${out.status}`})`;
}
