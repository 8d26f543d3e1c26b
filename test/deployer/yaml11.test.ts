import test from 'ava';
import fc from 'fast-check';
import YAML from 'yaml';
import { loadDocuments } from '../../services/deployer/yaml11.js';

/**
 * The reference: the `yaml` library in YAML 1.1 mode (timestamps and base-60 aside, which stay strings here, as with
 * kubectl).
 */
const reference = (text: string): unknown => JSON.parse(JSON.stringify(YAML.parse(text, { version: '1.1' })));
const ours = (text: string): unknown => JSON.parse(JSON.stringify(loadDocuments(text)[0]));

const SCALARS = [
  '0644',
  '0755',
  '08',
  '0',
  '00',
  '-0',
  '+12',
  '-7',
  '1_000',
  '0x1F',
  '0xff_ff',
  '0b1010',
  '-0b11',
  '1.5',
  '.5',
  '-.5',
  '1.',
  '1e3',
  '1.5E-2',
  '.inf',
  '-.Inf',
  '.NaN',
  'yes',
  'Yes',
  'YES',
  'no',
  'No',
  'NO',
  'y',
  'Y',
  'n',
  'N',
  'on',
  'On',
  'ON',
  'off',
  'Off',
  'OFF',
  'true',
  'True',
  'TRUE',
  'false',
  'False',
  '~',
  'null',
  'Null',
  'NULL',
  '',
  'abc',
  'nginx:1.27',
  'a b',
  "'0644'",
  '"yes"',
  '0o17',
  '1-2',
  'v1',
];

test('scalars load as YAML 1.1 does (kubectl): octal 0644, yes/no/on/off/y/n booleans, underscores, 0x/0b', (t) => {
  for (const s of SCALARS) t.deepEqual(ours(`v: ${s}\n`), reference(`v: ${s}\n`), s);
  t.deepEqual(ours('mode: 0644\n'), { mode: 420 });
  t.deepEqual(ours('a: 2001-12-14\nb: 1:30\n'), { a: '2001-12-14', b: '1:30' }, 'timestamps and base 60 stay strings');
});

test('anchors, merge keys, multi-document files and block scalars match the reference', (t) => {
  const text = 'base: &b {a: 1, b: [x, y]}\nderived:\n  <<: *b\n  c: |\n    line 1\n    line 2\n';
  t.deepEqual(ours(text), reference(text));
  t.deepEqual(loadDocuments('a: 1\n---\nb: 2\n---\n'), [{ a: 1 }, { b: 2 }, null]);
  let message = '';
  try {
    loadDocuments('a: 1\na: 2\n');
  } catch (err) {
    message = (err as { message: string }).message;
  }
  t.regex(message, /duplicated mapping key/);
});

test('property: documents the yaml library writes in 1.1 mode load identically', (t) => {
  const key = fc.stringMatching(/^[a-z][a-zA-Z0-9_.-]{0,10}$/);
  const scalar = fc.oneof(
    fc.constantFrom(...SCALARS),
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.boolean(),
    fc.constant(null),
  );
  const value = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      scalar,
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(key, tie('v'), { maxKeys: 4 }),
    ),
  })).v;
  fc.assert(
    fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (doc) => {
      const text = YAML.stringify(doc, { version: '1.1' });
      t.deepEqual(ours(text), reference(text), text);
    }),
    { numRuns: 300 },
  );
});
