import type { RequestAttributes } from './request-info.js';

/**
 * RBAC policy rules, pure: does a rule allow a request (kube's RuleAllows), does a set of rules
 * cover another (escalation prevention, kube's Covers), and the compact text kube prints for the
 * rules a user is missing.
 */

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export const VERB_ALL = '*';
export const API_GROUP_ALL = '*';
export const RESOURCE_ALL = '*';
export const NON_RESOURCE_ALL = '*';

/** A rule from an untrusted object: every list a string array (missing → absent). */
export function normalizeRule(raw: unknown): PolicyRule {
  const r = (raw ?? {}) as Record<string, unknown>;
  const list = (v: unknown): string[] | undefined =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
  const out: PolicyRule = { verbs: list(r.verbs) ?? [] };
  const groups = list(r.apiGroups);
  const resources = list(r.resources);
  const names = list(r.resourceNames);
  const urls = list(r.nonResourceURLs);
  if (groups) out.apiGroups = groups;
  if (resources) out.resources = resources;
  if (names && names.length > 0) out.resourceNames = names;
  if (urls && urls.length > 0) out.nonResourceURLs = urls;
  return out;
}

function verbMatches(rule: PolicyRule, verb: string): boolean {
  for (const v of rule.verbs) if (v === VERB_ALL || v === verb) return true;
  return false;
}

function groupMatches(rule: PolicyRule, group: string): boolean {
  for (const g of rule.apiGroups ?? []) if (g === API_GROUP_ALL || g === group) return true;
  return false;
}

function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === RESOURCE_ALL || r === combined) return true;
    if (subresource && r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource))
      return true;
  }
  return false;
}

function nameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames;
  if (!names || names.length === 0) return true;
  return names.includes(name);
}

function urlMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === NON_RESOURCE_ALL || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** True when `rule` allows the request (kube's RuleAllows). */
export function ruleAllows(a: RequestAttributes, rule: PolicyRule): boolean {
  if (!verbMatches(rule, a.verb)) return false;
  if (a.resourceRequest) {
    const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    return (
      groupMatches(rule, a.apiGroup) && resourceMatches(rule, combined, a.subresource) && nameMatches(rule, a.name)
    );
  }
  return urlMatches(rule, a.path);
}

// ---- coverage (escalation prevention) ------------------------------------------------------

function has(list: readonly string[] | undefined, x: string): boolean {
  return !!list && list.includes(x);
}

function resourceCovers(owner: readonly string[] | undefined, sub: string): boolean {
  if (has(owner, RESOURCE_ALL) || has(owner, sub)) return true;
  const slash = sub.indexOf('/');
  if (slash < 0) return false;
  return has(owner, `${sub.slice(0, slash)}/*`) || has(owner, `*/${sub.slice(slash + 1)}`);
}

function urlCovers(owner: string, sub: string): boolean {
  if (owner === sub) return true;
  return owner.endsWith('*') && sub.startsWith(owner.slice(0, -1));
}

/** One verb on one group/resource (optionally one name), or one verb on one URL. */
function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const verb of rule.verbs) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        if (rule.resourceNames && rule.resourceNames.length > 0) {
          for (const name of rule.resourceNames)
            out.push({ verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [name] });
        } else out.push({ verbs: [verb], apiGroups: [group], resources: [resource] });
      }
    }
    for (const url of rule.nonResourceURLs ?? []) out.push({ verbs: [verb], nonResourceURLs: [url] });
  }
  return out;
}

function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verb = sub.verbs[0]!;
  if (!(has(owner.verbs, VERB_ALL) || has(owner.verbs, verb))) return false;
  if (sub.nonResourceURLs) {
    const url = sub.nonResourceURLs[0]!;
    return (owner.nonResourceURLs ?? []).some((u) => urlCovers(u, url));
  }
  const group = sub.apiGroups?.[0] ?? '';
  const resource = sub.resources?.[0] ?? '';
  if (!(has(owner.apiGroups, API_GROUP_ALL) || has(owner.apiGroups, group))) return false;
  if (!resourceCovers(owner.resources, resource)) return false;
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  if (subNames.length === 0) return ownerNames.length === 0;
  return ownerNames.length === 0 || subNames.every((n) => ownerNames.includes(n));
}

/** Whether `owner` covers every permission of `requested`, and the atomic rules it does not. */
export function covers(owner: readonly PolicyRule[], requested: readonly PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of requested)
    for (const atom of breakdown(rule)) if (!owner.some((o) => ruleCovers(o, atom))) missing.push(atom);
  return missing;
}

/** Merges atomic rules that differ only in verb (kube's CompactRules). */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const byKey = new Map<string, PolicyRule>();
  for (const r of rules) {
    if (r.nonResourceURLs || (r.apiGroups?.length ?? 0) !== 1 || (r.resources?.length ?? 0) !== 1) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups, r.resources, r.resourceNames ?? []]);
    const existing = byKey.get(key);
    if (existing) {
      for (const v of r.verbs) if (!existing.verbs.includes(v)) existing.verbs.push(v);
      continue;
    }
    const copy: PolicyRule = { ...r, verbs: [...r.verbs] };
    byKey.set(key, copy);
    out.push(copy);
  }
  return out;
}

/** Go's `%q` of a string slice: `["a" "b"]`. */
function goQuoted(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** kube's CompactString: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["delete"]}`. */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups && r.apiGroups.length > 0) parts.push(`APIGroups:${goQuoted(r.apiGroups)}`);
  if (r.resources && r.resources.length > 0) parts.push(`Resources:${goQuoted(r.resources)}`);
  if (r.nonResourceURLs && r.nonResourceURLs.length > 0) parts.push(`NonResourceURLs:${goQuoted(r.nonResourceURLs)}`);
  if (r.resourceNames && r.resourceNames.length > 0) parts.push(`ResourceNames:${goQuoted(r.resourceNames)}`);
  if (r.verbs.length > 0) parts.push(`Verbs:${goQuoted(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** The text kube gives for an escalation attempt, from the rules the user is missing. */
export function escalationMessage(user: string, groups: readonly string[], missing: readonly PolicyRule[]): string {
  const lines = [...new Set(compactRules(missing).map(compactString))].sort();
  return `user ${JSON.stringify(user)} (groups=${goQuoted(groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
}

/** kube's validation of one rule (ValidatePolicyRule): field, message pairs. */
export function validateRule(
  raw: unknown,
  namespaced: boolean,
  field: string,
): Array<{ field: string; message: string; reason: string }> {
  const r = normalizeRule(raw);
  const out: Array<{ field: string; message: string; reason: string }> = [];
  if (r.verbs.length === 0)
    out.push({
      field: `${field}.verbs`,
      reason: 'FieldValueRequired',
      message: 'Required value: verbs must contain at least one value',
    });
  if (r.nonResourceURLs && r.nonResourceURLs.length > 0) {
    const value = `[]string{${r.nonResourceURLs.map((u) => JSON.stringify(u)).join(', ')}}`;
    if (namespaced)
      out.push({
        field: `${field}.nonResourceURLs`,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${value}: namespaced rules cannot apply to non-resource URLs`,
      });
    if ((r.apiGroups?.length ?? 0) > 0 || (r.resources?.length ?? 0) > 0 || (r.resourceNames?.length ?? 0) > 0)
      out.push({
        field: `${field}.nonResourceURLs`,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${value}: rules cannot apply to both regular resources and non-resource URLs`,
      });
    return out;
  }
  if ((r.apiGroups?.length ?? 0) === 0)
    out.push({
      field: `${field}.apiGroups`,
      reason: 'FieldValueRequired',
      message: 'Required value: resource rules must supply at least one api group',
    });
  if ((r.resources?.length ?? 0) === 0)
    out.push({
      field: `${field}.resources`,
      reason: 'FieldValueRequired',
      message: 'Required value: resource rules must supply at least one resource',
    });
  return out;
}
