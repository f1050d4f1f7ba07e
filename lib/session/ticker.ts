import { Observable, share, timer } from 'rxjs';

/**
 * One timer per period for the whole process, shared by every connection that
 * checks on its peer at that period: thousands of idle connections then cost one
 * wake-up per period, not thousands of timers.
 */
const tickers = new Map<number, Observable<number>>();

export function sharedTicks(period: number): Observable<number> {
  let ticks = tickers.get(period);
  if (ticks === undefined) {
    // `share` starts the timer with the first subscriber and stops it with the last.
    ticks = timer(period, period).pipe(share());
    tickers.set(period, ticks);
  }
  return ticks;
}
