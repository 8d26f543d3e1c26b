import type { Status, StatusCause, StatusDetails } from './kube.js';

/**
 * The one error family of kitfed. Every failure that crosses a service boundary is a
 * KitfedError: over HTTP it becomes a Kubernetes `Status` with the same code and reason,
 * on the CLI it becomes a message and an exit code.
 */
export class KitfedError extends Error {
  override readonly name: string = 'KitfedError';
  constructor(
    message: string,
    readonly code: number,
    readonly reason: string,
    readonly details: StatusDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  toStatus(): Status {
    const status: Status = {
      apiVersion: 'v1',
      kind: 'Status',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (Object.keys(this.details).length > 0) status.details = this.details;
    return status;
  }
}

/** Names a resource in messages the way kube-apiserver does: `replicasets.apps "web"`. */
function resourceName(group: string, plural: string, name: string): string {
  return `${group ? `${plural}.${group}` : plural} "${name}"`;
}

export interface ResourceRef {
  group: string;
  kind?: string;
  plural: string;
  name: string;
}

export const errors = {
  notFound(ref: ResourceRef): KitfedError {
    return new KitfedError(`${resourceName(ref.group, ref.plural, ref.name)} not found`, 404, 'NotFound', {
      name: ref.name,
      group: ref.group,
      kind: ref.plural,
    });
  },
  alreadyExists(ref: ResourceRef): KitfedError {
    return new KitfedError(`${resourceName(ref.group, ref.plural, ref.name)} already exists`, 409, 'AlreadyExists', {
      name: ref.name,
      group: ref.group,
      kind: ref.plural,
    });
  },
  conflict(ref: ResourceRef, why: string, causes?: StatusCause[]): KitfedError {
    return new KitfedError(
      `Operation cannot be fulfilled on ${resourceName(ref.group, ref.plural, ref.name)}: ${why}`,
      409,
      'Conflict',
      { name: ref.name, group: ref.group, kind: ref.plural, ...(causes ? { causes } : {}) },
    );
  },
  /** A server-side apply that conflicts: kube's message as is, one cause per field, no object details. */
  applyConflict(message: string, causes: StatusCause[]): KitfedError {
    return new KitfedError(message, 409, 'Conflict', { causes });
  },
  invalid(ref: { group: string; kind: string; name: string }, causes: StatusCause[]): KitfedError {
    const what = `${ref.kind}${ref.group ? `.${ref.group}` : ''} "${ref.name}"`;
    const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
    return new KitfedError(`${what} is invalid: ${list}`, 422, 'Invalid', {
      name: ref.name,
      group: ref.group,
      kind: ref.kind,
      causes,
    });
  },
  badRequest(message: string, causes?: StatusCause[]): KitfedError {
    return new KitfedError(message, 400, 'BadRequest', causes ? { causes } : {});
  },
  unauthorized(message = 'Unauthorized'): KitfedError {
    return new KitfedError(message, 401, 'Unauthorized');
  },
  forbidden(message: string): KitfedError {
    return new KitfedError(message, 403, 'Forbidden');
  },
  methodNotAllowed(message = 'the server does not allow this method on the requested resource'): KitfedError {
    return new KitfedError(message, 405, 'MethodNotAllowed');
  },
  notAcceptable(message: string): KitfedError {
    return new KitfedError(message, 406, 'NotAcceptable');
  },
  gone(message: string): KitfedError {
    return new KitfedError(message, 410, 'Expired');
  },
  tooLarge(message = 'the request entity is too large'): KitfedError {
    return new KitfedError(message, 413, 'RequestEntityTooLarge');
  },
  unsupportedMediaType(contentType: string): KitfedError {
    return new KitfedError(
      `the body of the request was in an unknown format - accepted media types include: ` +
        `application/json, application/yaml, application/json-patch+json, ` +
        `application/merge-patch+json, application/strategic-merge-patch+json, ` +
        `application/apply-patch+yaml (got ${contentType || 'none'})`,
      415,
      'UnsupportedMediaType',
    );
  },
  tooManyRequests(message: string, retryAfterSeconds = 1): KitfedError {
    return new KitfedError(message, 429, 'TooManyRequests', { retryAfterSeconds });
  },
  internal(message: string, cause?: unknown): KitfedError {
    return new KitfedError(`Internal error occurred: ${message}`, 500, 'InternalError', {}, { cause });
  },
  unavailable(message: string, cause?: unknown): KitfedError {
    return new KitfedError(message, 503, 'ServiceUnavailable', { retryAfterSeconds: 1 }, { cause });
  },
  timeout(message: string): KitfedError {
    return new KitfedError(message, 504, 'Timeout');
  },
};

/** True when `err` is a KitfedError with the given HTTP code. */
export function hasCode(err: unknown, ...codes: number[]): err is KitfedError {
  return err instanceof KitfedError && codes.includes(err.code);
}

/** A message safe to show: never the whole error object, which may carry request bodies. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
