/** The signing job: its pod, and the program it runs (`hwe kmm sign-image`). */
export { compileGlob, hasGlobChars, GlobError } from './glob.js';
export {
  renderSignPod,
  signImageArgs,
  SIGN_AUTH_DIR,
  SIGN_CERT_DIR,
  SIGN_KEY_DIR,
  type SignInput,
} from './pod.js';
export {
  signImage,
  SignImageError,
  type SignImageOptions,
  type SignImageResult,
  type SignedFile,
} from './sign-image.js';
export { signImageCommand } from './command.js';
