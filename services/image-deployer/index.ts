/**
 * The image-deployer: CI's image webhook → a commit of the new image tag in the manifests repo
 * (kit.md §1). Its one writer per repo (`RepoWriter`) also makes the rollback reverts.
 */
export {
  createImageHook,
  IMAGE_SIGNATURE_HEADER,
  signImageBody,
  verifyImageSignature,
  type HookResponse,
  type ImageHookOptions,
} from './image-hook.js';
export {
  commitMessage,
  RepoWriter,
  RevertRefused,
  type BumpResult,
  type RepoWriterOptions,
  type RevertResult,
} from './repo-writer.js';
export type { ImageBump } from './image-bump.js';
