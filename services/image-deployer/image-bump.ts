/**
 * The one shape every "image built" notification is normalized into, and the parsers that
 * produce it from a kitfed CI webhook body or a GitHub `package` event.
 */
import { Ajv } from 'ajv';
import { errors, KitfedError } from '../core/errors.js';

export interface ImageBump {
  /** Full image reference written into the manifests repo, e.g. `quay.io/acme/web:master-9ce261f`. */
  image: string;
  /** `<org>/<name>`: the folder under `images.path` (kit's DOCKER_REPO). */
  repository: string;
  /** The service branch: selects `<branch>.yaml` (slashes become `-`). */
  branch: string;
  /** The service commit the image was built from (named in the manifests commit message). */
  commit: string;
  message?: string;
}

const SEGMENT = '[A-Za-z0-9_][A-Za-z0-9._-]*';

const bodySchema = {
  type: 'object',
  required: ['image', 'repository', 'branch', 'commit'],
  additionalProperties: true,
  properties: {
    image: {
      type: 'string',
      minLength: 3,
      maxLength: 512,
      pattern: '^[^\\s@:/][^\\s]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$',
    },
    repository: { type: 'string', maxLength: 255, pattern: `^${SEGMENT}(/${SEGMENT})+$` },
    branch: { type: 'string', maxLength: 255, pattern: `^${SEGMENT}(/${SEGMENT})*$` },
    commit: { type: 'string', pattern: '^[0-9a-fA-F]{7,64}$' },
    message: { type: 'string', maxLength: 4096 },
  },
} as const;

const ajv = new Ajv({ allErrors: true });
const validateBody = ajv.compile<ImageBump>(bodySchema);

function noDotDot(bump: ImageBump): void {
  const parts = [...bump.repository.split('/'), ...bump.branch.split('/')];
  if (parts.some((p) => p === '.' || p === '..' || p.includes('..'))) {
    throw errors.badRequest('image webhook: repository and branch must not contain ".."', [
      { field: 'repository', message: 'must not contain ".."' },
    ]);
  }
}

/** Parses and validates a `POST /hooks/image` body. Throws a 400 KitfedError naming the field. */
export function parseImageBody(raw: string): ImageBump {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw errors.badRequest('image webhook: body is not valid JSON');
  }
  if (!validateBody(body)) {
    const causes = (validateBody.errors ?? []).map((e) => {
      const field = e.instancePath.slice(1) || (e.params as { missingProperty?: string }).missingProperty || '';
      return { field, message: e.message ?? 'invalid' };
    });
    throw errors.badRequest(`image webhook: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, causes);
  }
  const bump: ImageBump = {
    image: body.image,
    repository: body.repository,
    branch: body.branch,
    commit: body.commit.toLowerCase(),
  };
  if (body.message !== undefined) bump.message = body.message;
  noDotDot(bump);
  return bump;
}

interface PackageEvent {
  action?: string;
  package?: {
    name?: string;
    package_type?: string;
    owner?: { login?: string };
    package_version?: {
      package_url?: string;
      container_metadata?: {
        tag?: { name?: string; digest?: string };
        labels?: { all_labels?: Record<string, string> };
      };
    };
  };
  registry_package?: PackageEvent['package'];
}

export type PackageOutcome = { bump: ImageBump } | { ignored: string };

/**
 * A GitHub `package` / `registry_package` event → an image bump. Only `published` container
 * images with a tag are bumps; the service branch is read from a `<branch>-<sha>` tag (kit's
 * convention) or is `fallbackBranch`; the commit from the OCI revision label when present.
 */
export function bumpFromPackageEvent(payload: PackageEvent, fallbackBranch: string): PackageOutcome {
  const pkg = payload.package ?? payload.registry_package;
  if (payload.action !== 'published') return { ignored: `action ${payload.action ?? 'none'}` };
  if (!pkg?.name || !pkg.owner?.login) return { ignored: 'no package name/owner' };
  const type = (pkg.package_type ?? '').toLowerCase();
  const meta = pkg.package_version?.container_metadata;
  if (type !== 'container' && type !== 'docker' && !meta) return { ignored: `package type ${type || 'unknown'}` };
  const tag = meta?.tag?.name ?? '';
  if (!tag) return { ignored: 'container version without a tag' };
  const owner = pkg.owner.login.toLowerCase();
  const name = pkg.name.toLowerCase();
  const m = /^(.+)-([0-9a-f]{7,40})$/.exec(tag);
  const revision = meta?.labels?.all_labels?.['org.opencontainers.image.revision'] ?? m?.[2] ?? '';
  const bump: ImageBump = {
    image: `ghcr.io/${owner}/${name}:${tag}`,
    repository: `${owner}/${name}`,
    branch: m?.[1] ?? fallbackBranch,
    commit: /^[0-9a-f]{7,64}$/i.test(revision) ? revision.toLowerCase() : '0000000',
  };
  try {
    return { bump: parseImageBody(JSON.stringify(bump)) };
  } catch (err) {
    return { ignored: err instanceof KitfedError ? err.message : 'invalid package event' };
  }
}
