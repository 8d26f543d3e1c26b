import test from 'ava';
import { etcdBinary } from './etcd-harness.js';

/** ava's `test` when etcd is installed, `test.skip` otherwise (never under CI: the harness throws there). */
export const etcdTest = etcdBinary ? test : test.skip;
