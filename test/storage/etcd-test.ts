import test, { type ExecutionContext } from 'ava';
import { etcdBinary } from './etcd-harness.js';

const MISSING =
  'etcd is not installed: the etcd tests need a real etcd (Debian: apt-get install etcd-server; .ci/run installs it)';

type Impl = (t: ExecutionContext) => Promise<void> | void;

/**
 * Registers an etcd test. Without an etcd binary the test fails with how to install it: etcd
 * tests never pass silently by being skipped, on CI or anywhere else.
 */
export function etcdTest(title: string, impl: Impl): void {
  test(title, etcdBinary ? impl : (t) => t.fail(MISSING));
}

/** The same, run serially. */
export function etcdTestSerial(title: string, impl: Impl): void {
  test.serial(title, etcdBinary ? impl : (t) => t.fail(MISSING));
}
