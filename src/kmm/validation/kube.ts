/**
 * Checks that mirror Kubernetes' own validation (k8s.io/apimachinery validation and
 * pkg/apis/core/validation), with the same messages where users already know them.
 */
import { posix } from 'node:path';
import type { Loose } from '../../api/decode.js';
import type { Toleration } from '../../api/core.js';
import type { Errors } from './fields.js';
import { quoteValue } from '../../runtime/quote.js';

const NAME_MAX = 63;
const PREFIX_MAX = 253;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** IsQualifiedName: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63 alphanumerics, `-_.`. */
export function qualifiedNameProblems(value: string): string[] {
  const parts = value.split('/');
  let name = value;
  const out: string[] = [];
  if (parts.length === 2) {
    const [prefix, rest] = parts as [string, string];
    name = rest;
    if (prefix.length === 0) out.push('prefix part must be non-empty');
    else if (prefix.length > PREFIX_MAX) {
      out.push(`prefix part must be no more than ${PREFIX_MAX} characters`);
    } else if (!DNS1123_SUBDOMAIN.test(prefix)) {
      out.push(
        'prefix part must be a lowercase DNS subdomain: lower case alphanumerics, "-" and "."' +
          ', starting and ending with an alphanumeric (e.g. example.com)',
      );
    }
  } else if (parts.length > 2) {
    return [
      'a qualified name must be a name with an optional DNS subdomain prefix and "/" ' +
        '(e.g. "MyName" or "example.com/MyName")',
    ];
  }
  if (name.length === 0) out.push('name part must be non-empty');
  else if (name.length > NAME_MAX)
    out.push(`name part must be no more than ${NAME_MAX} characters`);
  else if (!QUALIFIED_NAME.test(name)) {
    out.push(
      'name part must consist of alphanumerics, "-", "_" or ".", and must start and end with an ' +
        'alphanumeric (e.g. "MyName", "my.name" or "123-abc")',
    );
  }
  return out;
}

/** IsValidLabelValue: empty, or ≤ 63 alphanumerics, `-_.`, starting and ending alphanumeric. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > NAME_MAX) return `must be no more than ${NAME_MAX} characters`;
  if (!QUALIFIED_NAME.test(value)) {
    return (
      'a valid label value must be empty or consist of alphanumerics, "-", "_" or ".", and ' +
      'must start and end with an alphanumeric'
    );
  }
  return undefined;
}

const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** core/v1 validation.ValidateTolerations, field by field. */
export function checkTolerations(
  errors: Errors,
  list: readonly Loose<Toleration>[] | undefined,
  field: string,
): void {
  list?.forEach((t, i) => {
    const at = `${field}[${i}]`;
    const { key = '', operator = '', value = '', effect = '', tolerationSeconds: seconds } = t;
    if (key !== '') {
      for (const p of qualifiedNameProblems(key))
        errors.add(`${at}.key`, `${quoteValue(key)}: ${p}`);
    } else if (operator !== 'Exists') {
      errors.add(
        `${at}.operator`,
        'must be Exists when key is empty, which means "match all values and all keys"',
      );
    }
    if (seconds !== undefined && effect !== 'NoExecute') {
      errors.add(`${at}.effect`, 'must be NoExecute when tolerationSeconds is set');
    }
    if (operator === '' || operator === 'Equal') {
      const p = labelValueProblem(value);
      if (p) errors.add(`${at}.value`, `${quoteValue(value)}: ${p}`);
    } else if (operator === 'Exists') {
      if (value !== '') errors.add(`${at}.value`, 'must be empty when operator is Exists');
    } else {
      errors.add(
        `${at}.operator`,
        `unsupported value ${quoteValue(operator)}: use "Equal" or "Exists"`,
      );
    }
    if (effect !== '' && !EFFECTS.includes(effect)) {
      errors.add(
        `${at}.effect`,
        `unsupported value ${quoteValue(effect)}: use "NoSchedule", "PreferNoSchedule" or "NoExecute"`,
      );
    }
  });
}

/**
 * Host directories a device plugin may mount. The plugin runs on every selected node, so a
 * hostPath elsewhere (/etc, /root, /) would hand the Module's author the node's secrets.
 */
export const DEVICE_PLUGIN_HOST_PATH_ROOTS = ['/dev', '/sys', '/var', '/opt', '/run'] as const;

/** Whether `path`, cleaned of `.`, `..` and repeated slashes, lies in one of `roots`. */
export function isUnder(path: string, roots: readonly string[]): boolean {
  if (!path.startsWith('/')) return false;
  const clean = posix.normalize(path);
  return roots.some((r) => clean === r || clean.startsWith(r.endsWith('/') ? r : `${r}/`));
}

/**
 * The shallow check upstream makes, done right: an image reference needs a tag or a digest in
 * its last path segment (a port in the registry host is not a tag).
 */
export function hasTagOrDigest(image: string): boolean {
  if (image.includes('@')) return true;
  const last = image.slice(image.lastIndexOf('/') + 1);
  return last.includes(':');
}

/** Problem with an image reference as written (variables still unexpanded), if any. */
export function imageProblem(image: string): string | undefined {
  if (/\s/.test(image)) return `${quoteValue(image)} contains white space`;
  if (!hasTagOrDigest(image)) {
    return (
      `${quoteValue(image)} has no tag or digest; add one, e.g. ${image}:\${KERNEL_FULL_VERSION} or ` +
      `${image}@sha256:<digest>`
    );
  }
  return undefined;
}
