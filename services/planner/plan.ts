import { planExact } from './exact.js';
import { planFast } from './fast.js';
import type { PlanInput, PlanResult } from './types.js';

/**
 * Federation v1's replica planner (reference §1.3–1.4), bit for bit: spreads `totalReplicas`
 * over `clusters` by the preferences, keeping running replicas unless `rebalance`, and reports
 * the replicas wanted beyond each cluster's estimated capacity as `overflow`. Pure.
 *
 * Throws a 400 KitfedError naming the field for a non-integer number, and when negative weights
 * would make v1 loop forever.
 */
export function plan(input: PlanInput): PlanResult {
  return planFast(input) ?? planExact(input);
}
