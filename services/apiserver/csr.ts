import { isObject, type KubeObject } from '../core/kube.js';
import type { AdmissionPlugin, Operation, WriteOptions } from './registry.js';
import type { ResourceType } from './resources.js';

/**
 * kube's CertificateSigningRequest strategy on create: the requester is whoever sends the request
 * (spec.username, uid, groups, extra come from the authenticated user; whatever the body says is
 * dropped), and a new request carries no status, so nobody can create one already approved.
 */
export const csrAdmission: AdmissionPlugin = {
  name: 'CertificateSigningRequest',
  kinds: ['CertificateSigningRequest'],
  admit(op: Operation, t: ResourceType, obj: KubeObject, _old: KubeObject | undefined, opts?: WriteOptions) {
    if (op !== 'CREATE' || t.group !== 'certificates.k8s.io') return [];
    const spec = isObject(obj.spec) ? obj.spec : (obj.spec = {});
    for (const field of ['username', 'uid', 'groups', 'extra']) delete spec[field];
    const user = opts?.user;
    if (user) {
      spec.username = user.name;
      if (user.uid) spec.uid = user.uid;
      if (user.groups.length > 0) spec.groups = [...user.groups];
      if (user.extra && Object.keys(user.extra).length > 0)
        spec.extra = Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]]));
    }
    obj.status = {};
    return [];
  },
};
