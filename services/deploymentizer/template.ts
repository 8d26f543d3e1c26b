/** Mustache rendering with kit's escaping (mustache.js 2.2.1: & < > " ' / are HTML-escaped by `{{x}}`). */
import Mustache from 'mustache';

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '/': '&#x2F;',
};

function escapeLikeKit(value: unknown): string {
  return String(value).replace(/[&<>"'/]/g, (c) => ENTITIES[c] ?? c);
}

const CONFIG = { escape: escapeLikeKit };

/**
 * Strict mode: records `{{name}}` / `{{{name}}}` tags whose name is not in the view (a typo renders
 * as an empty string in Mustache). Sections are not checked: `{{#optional}}…{{/optional}}` is how
 * templates test for optional values.
 */
class StrictWriter extends Mustache.Writer {
  readonly missing = new Set<string>();
  private note(token: string[], context: Mustache.Context): void {
    const name = token[1]!;
    if (context.lookup(name) === undefined) this.missing.add(name);
  }
  override unescapedValue(token: string[], context: Mustache.Context): string {
    this.note(token, context);
    return super.unescapedValue(token, context);
  }
  override escapedValue(token: string[], context: Mustache.Context, config?: Mustache.RenderOptions): string {
    this.note(token, context);
    return super.escapedValue(token, context, config);
  }
}

const strictWriter = new StrictWriter();

export interface Rendered {
  text: string;
  /** Names of variable tags not found in the view (strict mode only). */
  missing: string[];
}

/** Renders a template; throws (with mustache's message) on a syntax error. */
export function renderTemplate(template: string, view: object, strict = false): Rendered {
  if (!strict) return { text: Mustache.render(template, view, undefined, CONFIG), missing: [] };
  strictWriter.missing.clear();
  const text = strictWriter.render(template, view, undefined, CONFIG);
  return { text, missing: [...strictWriter.missing].sort() };
}
