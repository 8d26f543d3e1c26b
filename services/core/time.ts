// Kubernetes' two timestamp formats, written in one place.

/** RFC 3339 to the second, as Kubernetes writes `metav1.Time` (creationTimestamp, conditions, Event times). */
export function kubeTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** RFC 3339 to the microsecond, as Kubernetes writes `metav1.MicroTime` (Leases, events.k8s.io eventTime). */
export function microTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
