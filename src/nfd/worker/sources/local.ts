/**
 * local: feature files in `features.d`. Each line is `name[=value]` (value `true` when absent);
 * directives in comments apply to the lines after them:
 *   `# +expiry-time=<RFC3339>`  the following lines are ignored once that time has passed;
 *   `# +no-label`               the next line is a feature only, not a label;
 *   `# +no-feature`             the next line is a label only, not a feature.
 * Labels are published as written (the master prefixes unprefixed names). Executable files are
 * skipped with a warning: they were hooks once, and upstream no longer runs hooks; reading a
 * script as a feature file would publish its commands as feature names.
 */
import { statSync } from 'node:fs';
import { join, listDir, readText } from '../hostfs.js';
import { type DiscoverContext, registerSource } from '../source.js';
import { attributeSet, type SourceFeatures } from '../types.js';
import { quoteValue } from '../../../runtime/quote.js';

const MAX_FEATURE_FILE_SIZE = 65536;

export interface ParsedFeatureFile {
  features: Record<string, string>;
  labels: Record<string, string>;
  errors: string[];
}

export function parseFeatureFile(text: string, now: Date): ParsedFeatureFile {
  const features: Record<string, string> = {};
  const labels: Record<string, string> = {};
  const errors: string[] = [];
  let expiry: number | undefined;
  let noLabel = false;
  let noFeature = false;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    if (line.startsWith('#')) {
      if (!line.startsWith('# +')) return;
      const body = line.slice(3);
      const eq = body.indexOf('=');
      const key = eq < 0 ? body : body.slice(0, eq);
      if (key === 'expiry-time') {
        const t = eq < 0 ? NaN : Date.parse(body.slice(eq + 1).trim());
        // RFC 3339 needs a date, a time and a zone; Date.parse alone accepts less.
        const ok =
          eq >= 0 &&
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(
            body.slice(eq + 1).trim(),
          );
        if (!ok || Number.isNaN(t)) {
          errors.push(
            `line ${i + 1}: ${quoteValue(line)}: expiry-time must be an RFC 3339 time, e.g. 2030-01-02T15:04:05Z`,
          );
        } else expiry = t;
      } else if (key === 'no-label') noLabel = true;
      else if (key === 'no-feature') noFeature = true;
      else
        errors.push(
          `line ${i + 1}: unknown directive "${key}"; use expiry-time, no-label or no-feature`,
        );
      return;
    }
    if (expiry !== undefined && expiry < now.getTime()) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? 'true' : line.slice(eq + 1);
    if (noFeature) delete features[key];
    else features[key] = value;
    if (noLabel) delete labels[key];
    else labels[key] = value;
    noLabel = false;
    noFeature = false;
  });
  return { features, labels, errors };
}

function discoverLocal(ctx: DiscoverContext): SourceFeatures {
  const dir = ctx.paths.featuresDir;
  const features: Record<string, string> = {};
  const labels: Record<string, string> = {};
  for (const name of listDir(dir) ?? []) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    let size: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) continue;
      if (st.mode & 0o111) {
        ctx.warn(
          `${path}: executable, skipped; hooks are not run (as upstream dropped them): ` +
            'write the features into the file and remove its execute permission',
        );
        continue;
      }
      size = st.size;
    } catch {
      continue;
    }
    if (size > MAX_FEATURE_FILE_SIZE) {
      ctx.warn(`${path}: ${size} bytes is over the ${MAX_FEATURE_FILE_SIZE}-byte limit; ignored`);
      continue;
    }
    const text = readText(path);
    if (text === undefined) continue;
    const parsed = parseFeatureFile(text, ctx.now);
    for (const e of parsed.errors) ctx.warn(`${path}: ${e}`);
    // Files are read in name order; a later file overrides an earlier one's value.
    Object.assign(features, parsed.features);
    Object.assign(labels, parsed.labels);
  }
  return { attributes: { label: attributeSet(labels), feature: attributeSet(features) } };
}

registerSource({
  name: 'local',
  order: 0,
  rawLabels: true,
  discover: discoverLocal,
  labels: (own) => ({ ...(own.attributes?.label?.elements ?? {}) }),
});
