/**
 * Which target gets the next request: the target group's routing algorithm as a pure choice over candidates, with
 * no sockets and no timers, so it is tested as a function (AWS, "Target groups for your Application Load Balancers"
 * → "Routing algorithms", "Slow start mode").
 *
 *  - round_robin: in turn. A target in slow start gets a share that grows linearly from nothing to a full share
 *    over the slow-start duration — smooth weighted round robin (the order nginx uses), so the ramp is exact and
 *    nothing is left to chance.
 *  - least_outstanding_requests: the candidate with the fewest requests in flight (the first, on a tie).
 *  - weighted_random: a random candidate; every weight is equal unless anomaly mitigation lowers one, which is not
 *    emulated (the importer names it).
 *
 * Slow start applies to round robin only (AWS: it cannot be enabled with the other two), and only while some
 * healthy target is out of it: a group whose every target just became healthy sends to all of them alike.
 */

export type Algorithm = 'round_robin' | 'least_outstanding_requests' | 'weighted_random';

export interface Candidate {
  readonly inflight: number;
  /** When the target last became healthy (ms since the epoch), for slow start; undefined if it is not healthy. */
  readonly healthySince: number | undefined;
}

export interface BalancerOptions {
  algorithm: Algorithm;
  /** The slow-start duration; 0 turns it off. */
  slowStartMs: number;
  /** A number in [0, 1) (tests pass their own). */
  random?: () => number;
}

export interface Balancer<T extends Candidate> {
  /** One of `candidates` (never empty), chosen at time `now`. */
  pick(candidates: readonly T[], now: number): T;
}

/** A target's share at `now`: 1 outside slow start, else the elapsed fraction of the ramp (never quite 0). */
export function slowStartShare(c: Candidate, slowStartMs: number, now: number): number {
  if (slowStartMs <= 0 || c.healthySince === undefined) return 1;
  const elapsed = now - c.healthySince;
  if (elapsed >= slowStartMs) return 1;
  return Math.max(0.01, elapsed / slowStartMs);
}

export function createBalancer<T extends Candidate>(o: BalancerOptions): Balancer<T> {
  const random = o.random ?? Math.random;
  switch (o.algorithm) {
    case 'least_outstanding_requests':
      return {
        pick(candidates) {
          let best = candidates[0]!;
          for (const t of candidates) if (t.inflight < best.inflight) best = t;
          return best;
        },
      };
    case 'weighted_random':
      return { pick: (candidates) => candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))]! };
    case 'round_robin':
      return roundRobin<T>(o.slowStartMs);
  }
}

/**
 * Smooth weighted round robin: each pick adds every candidate's weight to its running score and takes the highest,
 * which then gives back the total. With equal weights it is plain rotation; with a target ramping up in slow start
 * it gets exactly its share, spread out rather than in bursts.
 */
function roundRobin<T extends Candidate>(slowStartMs: number): Balancer<T> {
  const score = new WeakMap<T, number>();
  return {
    pick(candidates, now) {
      // Without slow start (the usual case) every share is 1: nothing to work out per candidate.
      const warm = slowStartMs > 0 && candidates.some((c) => slowStartShare(c, slowStartMs, now) === 1 && c.healthySince !== undefined);
      let total = 0;
      let best: T | undefined;
      let bestScore = -Infinity;
      for (const c of candidates) {
        const w = warm ? slowStartShare(c, slowStartMs, now) : 1;
        const s = (score.get(c) ?? 0) + w;
        score.set(c, s);
        total += w;
        if (s > bestScore) {
          bestScore = s;
          best = c;
        }
      }
      score.set(best!, bestScore - total);
      return best!;
    },
  };
}
