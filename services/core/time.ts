// Kubernetes' two timestamp formats, written in one place.

let lastSecond = NaN;
let lastText = '';

/** RFC 3339 to the second, as Kubernetes writes `metav1.Time` (creationTimestamp, conditions, Event times). */
export function kubeTime(d?: Date): string {
  // Every write stamps one or two of these: the text is made once per second, not per call.
  const second = Math.floor((d ? d.getTime() : Date.now()) / 1000);
  if (second !== lastSecond) {
    lastText = new Date(second * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    lastSecond = second;
  }
  return lastText;
}

/** RFC 3339 to the microsecond, as Kubernetes writes `metav1.MicroTime` (Leases, events.k8s.io eventTime). */
export function microTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
