/**
 * A CPU budget for a process tree: a cgroup with a CFS quota (cgroup v2's `cpu.max`, or
 * v1's `cpu.cfs_quota_us`). A process started through `command()` joins the group before
 * it runs, and every process it forks (node:cluster's workers) is in the group too, so
 * "two workers on 0.5 core each" can be measured on a machine whose other cores run the
 * load client. Needs root and a writable cpu controller; `cpuBudgetSupport()` says why not.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** CFS period: short, so that a throttled group waits at most a few ms at a time instead of most of 100 ms. */
const PERIOD_US = 10_000;
const V2_ROOT = '/sys/fs/cgroup';
const V1_ROOT = '/sys/fs/cgroup/cpu';

type Flavour = { version: 2; root: string } | { version: 1; root: string };

function flavour(): Flavour | string {
  try {
    if (existsSync(join(V2_ROOT, 'cgroup.controllers'))) {
      const enabled = readFileSync(join(V2_ROOT, 'cgroup.subtree_control'), 'utf8');
      return /\bcpu\b/.test(enabled) ? { version: 2, root: V2_ROOT } : 'the cgroup v2 cpu controller is not enabled for child groups';
    }
    if (existsSync(join(V1_ROOT, 'cpu.cfs_quota_us'))) return { version: 1, root: V1_ROOT };
    return 'no cgroup cpu controller is mounted';
  } catch (error) {
    return `cgroups unreadable: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** undefined when budgets can be set here; otherwise why not. */
export function cpuBudgetSupport(): string | undefined {
  const found = flavour();
  if (typeof found === 'string') return found;
  const probe = join(found.root, `rxrtmp-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return undefined;
  } catch (error) {
    return `cannot create a cgroup (${error instanceof Error ? error.message : String(error)}); run as root`;
  }
}

export interface CpuBudget {
  readonly cores: number;
  /** The CFS period the quota is counted over (µs). */
  readonly periodUs: number;
  /** argv that runs `file args` inside the group: the shell joins it, then execs. */
  command(file: string, args: readonly string[]): { file: string; args: string[] };
  /** Periods in which the group ran out of its quota, since it was made. */
  throttledPeriods(): number;
  /** Removes the group; its processes must have exited. */
  remove(): void;
}

export function createCpuBudget(name: string, cores: number): CpuBudget {
  const found = flavour();
  if (typeof found === 'string') throw new Error(found);
  const dir = join(found.root, `rxrtmp-${name}-${process.pid}`);
  mkdirSync(dir);
  const quota = Math.max(1_000, Math.round(cores * PERIOD_US));
  if (found.version === 2) writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
  else {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
  }
  const stat = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const line of readFileSync(join(dir, 'cpu.stat'), 'utf8').split('\n')) {
      const [key, value] = line.split(' ');
      if (key) out[key] = Number(value);
    }
    return out;
  };
  return {
    cores: quota / PERIOD_US,
    periodUs: PERIOD_US,
    command: (file, args) => ({ file: '/bin/sh', args: ['-c', `echo $$ > ${join(dir, 'cgroup.procs')} && exec "$@"`, 'sh', file, ...args] }),
    throttledPeriods: () => stat().nr_throttled ?? 0,
    remove: () => {
      for (let attempt = 0; ; attempt++) {
        try {
          rmdirSync(dir);
          return;
        } catch (error) {
          // The kernel lets go of a group a moment after its last process is reaped.
          if (attempt >= 50) throw error;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        }
      }
    },
  };
}
