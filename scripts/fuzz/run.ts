/**
 * `npm run fuzz`: every target with fast-check, seeds from real sessions mutated (bytes
 * flipped, set, inserted, deleted, cut) or plain random bytes, at random split points.
 * A failure is shrunk by fast-check and written to specs/fuzz/regressions/, which CI
 * replays (specs/fuzz/regressions.spec.ts).
 *
 *   npm run fuzz -- [--runs 10000000] [--only chunk,amf0] [--seed N]
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { FuzzTarget, targets } from './targets';

export const REGRESSIONS = join(__dirname, '..', '..', 'specs', 'fuzz', 'regressions');

type Edit = { kind: 'set'; at: number; byte: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'delete'; at: number; length: number } | { kind: 'cut'; at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);

function apply(seed: Buffer, edits: Edit[]): Buffer {
  let bytes = Buffer.from(seed);
  for (const e of edits) {
    const at = bytes.length === 0 ? 0 : e.at % (bytes.length + 1);
    if (e.kind === 'set' && at < bytes.length) bytes[at] = e.byte;
    else if (e.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(e.bytes), bytes.subarray(at)]);
    else if (e.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e.length)]);
    else if (e.kind === 'cut') bytes = bytes.subarray(0, at);
  }
  return bytes;
}

export function inputs(target: FuzzTarget): fc.Arbitrary<{ input: Buffer; splits: number[] }> {
  const mutated = fc.tuple(fc.constantFrom(...target.seeds), fc.array(edit, { minLength: 1, maxLength: 8 })).map(([seed, edits]) => apply(seed, edits));
  const random = fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes));
  return fc.record({ input: fc.oneof({ arbitrary: mutated, weight: 4 }, { arbitrary: random, weight: 1 }), splits: fc.array(fc.nat(), { maxLength: 6 }) });
}

/** Runs one target; returns the runs made, or the failing input (already shrunk) and its error. */
export function fuzz(target: FuzzTarget, runs: number, seed?: number): { runs: number; failure?: { input: Buffer; splits: number[]; error: string } } {
  const result = fc.check(
    fc.property(inputs(target), ({ input, splits }) => {
      target.run(input, splits);
    }),
    { numRuns: runs, ...(seed !== undefined ? { seed } : {}) },
  );
  if (!result.failed) return { runs: result.numRuns };
  const [{ input, splits }] = result.counterexample as [{ input: Buffer; splits: number[] }];
  const error = result.errorInstance instanceof Error ? `${result.errorInstance.name}: ${result.errorInstance.message}` : String(result.errorInstance);
  return { runs: result.numRuns, failure: { input, splits, error } };
}

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

if (require.main === module) {
  const runs = Number(option('runs') ?? 10_000_000);
  const only = option('only')?.split(',');
  const seed = option('seed') !== undefined ? Number(option('seed')) : undefined;
  let failed = 0;
  for (const target of targets.filter((t) => !only || only.includes(t.name))) {
    // In slices, so that progress shows and a long run can be stopped with what it found so far.
    const slice = Math.min(runs, 200_000);
    let done = 0;
    const started = Date.now();
    while (done < runs) {
      const result = fuzz(target, Math.min(slice, runs - done), seed === undefined ? undefined : seed + done);
      done += result.runs;
      if (result.failure) {
        failed++;
        const name = `${target.name}-${createHash('sha256').update(result.failure.input).digest('hex').slice(0, 12)}`;
        writeFileSync(join(REGRESSIONS, `${name}.bin`), result.failure.input);
        writeFileSync(join(REGRESSIONS, `${name}.json`), `${JSON.stringify({ target: target.name, splits: result.failure.splits, error: result.failure.error }, null, 2)}\n`);
        console.log(`${target.name}: CRASH after ${done} runs: ${result.failure.error} → specs/fuzz/regressions/${name}.bin`);
        break;
      }
      process.stdout.write(`\r${target.name}: ${done.toLocaleString('en')} runs, ${Math.round(done / ((Date.now() - started) / 1000)).toLocaleString('en')}/s   `);
    }
    console.log(`\n${target.name}: ${done.toLocaleString('en')} runs in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  console.log(failed === 0 ? 'no crash: every input gave a value or a ProtocolError' : `${failed} target(s) crashed`);
  process.exit(failed === 0 ? 0 : 1);
}
