import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzz, REGRESSIONS } from '../../scripts/fuzz/run';
import { targets } from '../../scripts/fuzz/targets';

// Every crash `npm run fuzz` ever found stays here as a case: each must now give a value or a ProtocolError.
const cases = existsSync(REGRESSIONS) ? readdirSync(REGRESSIONS).filter((f) => f.endsWith('.bin')) : [];

test('every committed fuzz regression gives a value or a ProtocolError', (t) => {
  for (const file of cases) {
    const meta = JSON.parse(readFileSync(join(REGRESSIONS, file.replace(/\.bin$/, '.json')), 'utf8')) as { target: string; splits: number[] };
    const target = targets.find((candidate) => candidate.name === meta.target);
    t.truthy(target, `${file}: target ${meta.target}`);
    t.notThrows(() => target!.run(readFileSync(join(REGRESSIONS, file)), meta.splits), file);
  }
  t.pass(`${cases.length} regression cases`);
});

// A short pass of each target, with a fixed seed so that CI is repeatable: the long runs are `npm run fuzz`.
for (const target of targets) {
  test(`fuzz ${target.name}: 3000 mutated and random inputs give values or ProtocolErrors`, (t) => {
    const result = fuzz(target, 3000, 20261205);
    t.is(result.failure, undefined, result.failure ? `${result.failure.error} on ${result.failure.input.toString('hex').slice(0, 200)}` : '');
    t.is(result.runs, 3000);
    t.true(target.seeds.length > 0, 'seeded from real sessions');
  });
}

test('the harness finds and shrinks a crash: an error that is not a ProtocolError fails the target', (t) => {
  const planted = {
    name: 'planted',
    seeds: [Buffer.from('0102030405060708', 'hex')],
    run(input: Buffer) {
      if (input.includes(0xee)) throw new TypeError('planted crash');
    },
  };
  const result = fuzz(planted, 20_000, 7);
  t.truthy(result.failure, 'found');
  t.regex(result.failure!.error, /TypeError: planted crash/);
  t.true(result.failure!.input.length <= 8 && result.failure!.input.includes(0xee), `shrunk to ${result.failure!.input.toString('hex')}`);
});
