/**
 * kube's text form of a LabelSelector (`app=web,tier in (a,b),!legacy`), as `kubectl get -l`
 * takes it and the API's `labelSelector` parameter reads it. Pure: the console's front-end uses
 * it too. Undefined for a selector that selects nothing in particular (none, or empty).
 */
export function labelSelectorText(selector: unknown): string | undefined {
  if (selector === null || typeof selector !== 'object' || Array.isArray(selector)) return undefined;
  const s = selector as { matchLabels?: unknown; matchExpressions?: unknown };
  const labels = s.matchLabels !== null && typeof s.matchLabels === 'object' ? s.matchLabels : {};
  const parts = Object.entries(labels as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of Array.isArray(s.matchExpressions) ? (s.matchExpressions as unknown[]) : []) {
    if (e === null || typeof e !== 'object') continue;
    const { key, operator, values } = e as { key?: unknown; operator?: unknown; values?: unknown };
    if (typeof key !== 'string') continue;
    const list = `(${(Array.isArray(values) ? values : []).map(String).join(',')})`;
    if (operator === 'In') parts.push(`${key} in ${list}`);
    else if (operator === 'NotIn') parts.push(`${key} notin ${list}`);
    else if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
  }
  return parts.length > 0 ? parts.join(',') : undefined;
}
