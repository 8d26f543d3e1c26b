import { kubeTime } from '../core/time.js';
/**
 * The simulator's clock: wall time plus an offset that only moves forward (`advance`). It
 * drives what kube's controllers do on a schedule — CronJob schedules and the
 * HorizontalPodAutoscaler's stabilization windows and rate limits — so a test or a user can
 * jump an hour ahead instead of waiting for it. Timestamps the API server writes
 * (creationTimestamp, managedFields) stay on wall time.
 */
export class SimClock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** RFC 3339 at second precision, as kube's metav1.Time serialises. */
  iso(ms = this.now()): string {
    return kubeTime(new Date(ms));
  }

  /** How far ahead of wall time the clock runs. */
  get offset(): number {
    return this.offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError('the clock only moves forward: give a non-negative duration');
    this.offsetMs += ms;
  }
}
