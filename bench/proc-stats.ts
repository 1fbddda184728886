// What a process has used so far, read from Linux's /proc, for the benchmarks.
import { readFileSync } from 'node:fs';

/** Peak resident memory of a process so far, in MB (Linux VmHWM). */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * The fields of /proc/PID/stat after the command name, from the state on (so `state` is [0], the parent's
 * pid [1], utime [11], stime [12], cutime [13], cstime [14]); with `thread`, that thread's.
 */
export function procStat(pid: number, thread?: number): string[] {
  return readFileSync(thread ? `/proc/${pid}/task/${thread}/stat` : `/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
}

/** Linux clock ticks are 10 ms. */
export const TICK_MS = 10;

/**
 * CPU time a process has used so far (all its threads, user + system), in ms.
 * With `thread`, that thread's only (the main thread's id is the process id).
 */
export function cpuMs(pid: number, thread?: number): number {
  const fields = procStat(pid, thread);
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}
