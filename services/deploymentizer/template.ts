/** Mustache rendering with kit's escaping (mustache.js 2.2.1: & < > " ' / are HTML-escaped by `{{x}}`). */
import Mustache from 'mustache';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '/': '&#x2F;' };

function escapeLikeKit(value: unknown): string {
  return String(value).replace(/[&<>"'/]/g, (c) => ENTITIES[c] ?? c);
}

/** Renders a template; throws (with mustache's message) on a syntax error. */
export function renderTemplate(template: string, view: object): string {
  return Mustache.render(template, view, undefined, { escape: escapeLikeKit });
}
