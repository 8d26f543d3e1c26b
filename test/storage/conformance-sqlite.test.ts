import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { SqliteStore } from '../../services/apiserver/storage/sqlite.js';
import { storeConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'kitfed-sqlite-conf-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeConformance('sqlite', async () => new SqliteStore(join(dir, `store-${n++}.db`)));
