/**
 * Fast YAML 1.1 loading for manifests: js-yaml (several times faster than the `yaml` library on
 * small documents) with YAML 1.1 scalar rules, as kubectl reads manifests: `0644` is octal,
 * `yes`/`no`/`on`/`off`/`y`/`n` are booleans, `1_000` is 1000, `0b101`/`0x1F` are numbers.
 * Timestamps and base-60 numbers stay strings (kubectl turns them into JSON strings too).
 */
import jsyaml from 'js-yaml';

const TRUE = /^(?:Y|y|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const FALSE = /^(?:N|n|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;
const INT_BIN = /^[-+]?0b[0-1_]+$/;
const INT_OCT = /^[-+]?0[0-7_]+$/;
const INT_DEC = /^[-+]?[0-9][0-9_]*$/;
const INT_HEX = /^[-+]?0x[0-9a-fA-F_]+$/;
const FLOAT_SPECIAL = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/;

const bool = new jsyaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (s: string) => TRUE.test(s) || FALSE.test(s),
  construct: (s: string) => TRUE.test(s),
  predicate: (v: object) => typeof v === 'boolean',
});

function intOf(s: string): number {
  const sign = s[0] === '-' ? -1 : 1;
  const body = (s[0] === '-' || s[0] === '+' ? s.slice(1) : s).replace(/_/g, '');
  if (INT_BIN.test(s)) return sign * parseInt(body.slice(2), 2);
  if (INT_HEX.test(s)) return sign * parseInt(body.slice(2), 16);
  if (INT_OCT.test(s)) return sign * parseInt(body, 8);
  return sign * parseInt(body, 10);
}

const int = new jsyaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (s: string) => INT_BIN.test(s) || INT_OCT.test(s) || INT_DEC.test(s) || INT_HEX.test(s),
  construct: intOf,
  predicate: (v: object) => typeof v === 'number' && Number.isInteger(v),
});

function floatOf(s: string): number {
  if (FLOAT_SPECIAL.test(s))
    return s.endsWith('inf') || s.endsWith('Inf') || s.endsWith('INF') ? (s[0] === '-' ? -Infinity : Infinity) : NaN;
  return parseFloat(s.replace(/_/g, ''));
}

const float = new jsyaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (s: string) => FLOAT_SPECIAL.test(s) || FLOAT_EXP.test(s) || FLOAT.test(s),
  construct: floatOf,
  predicate: (v: object) => typeof v === 'number',
});

// js-yaml exports its built-in types at run time; @types/js-yaml does not declare them.
const builtin = (jsyaml as unknown as { types: Record<'null' | 'merge', jsyaml.Type> }).types;
const SCHEMA = jsyaml.FAILSAFE_SCHEMA.extend({ implicit: [builtin.null, bool, int, float, builtin.merge] });

/** Every document of a file (null for empty ones). Throws js-yaml's YAMLException with line and column. */
export function loadDocuments(text: string): unknown[] {
  return jsyaml.loadAll(text, null, { schema: SCHEMA });
}
