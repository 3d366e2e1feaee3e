/**
 * The rule shapes of Node Feature Discovery: MatchExpression, FeatureMatcherTerm, MatchAnyElem
 * and Rule (an item of NodeFeatureRule `spec.rules`, and a custom rule of the worker config).
 * Kept apart from the resources in `nfd.ts` (which re-exports them) so that a program that
 * checks rules only, such as the one-file nfd-worker, does not carry the resources' schemas.
 */
import { Taint } from './core.js';
import { MATCH_OPS } from './nfd-names.js';
import { arr, describedAs, enumOf, map, obj, opt, str, stringMap, type Static } from './schema.js';

export const MatchExpression = obj(
  {
    op: enumOf(MATCH_OPS, { description: 'The operator applied to the input.' }),
    value: opt(
      arr(str(), {
        description:
          'Operands: none for Exists, DoesNotExist, IsTrue and IsFalse; one for Gt, Ge, Lt and ' +
          'Le; two for GtLt and GeLe; at least one otherwise.',
      }),
    ),
    type: opt(
      enumOf(['', 'version'], {
        description:
          'How Gt, Ge, Lt, Le, GtLt and GeLe compare: as integers (empty) or as versions.',
      }),
    ),
  },
  { description: 'An operator and its operands, evaluated against one input value.' },
);
export type MatchExpression = Static<typeof MatchExpression>;

export const FeatureMatcherTerm = obj(
  {
    feature: str({
      minLength: 1,
      description: 'The feature set to match, as <domain>.<feature>, e.g. pci.device.',
    }),
    matchExpressions: opt(
      map(MatchExpression, {
        description:
          'Element name → expression; all must hold (on the same instance, for instance features).',
      }),
    ),
    matchName: opt(
      describedAs(
        MatchExpression,
        'An expression matched against the names of the elements of the feature set.',
      ),
    ),
  },
  { description: 'Requirements on one feature set.' },
);
export type FeatureMatcherTerm = Static<typeof FeatureMatcherTerm>;

const featureMatcher = (description: string) => arr(FeatureMatcherTerm, { description });

export const MatchAnyElem = obj(
  { matchFeatures: featureMatcher('Terms that must all match.') },
  { description: 'One alternative of matchAny.' },
);
export type MatchAnyElem = Static<typeof MatchAnyElem>;

/** The conditions of a rule, shared by NodeFeatureRule and NodeFeatureGroup rules. */
export const matchProps = {
  matchFeatures: opt(featureMatcher('Terms that must all match (AND).')),
  matchAny: opt(arr(MatchAnyElem, { description: 'Alternatives of which one must match (OR).' })),
};

export const Rule = obj(
  {
    name: str({ minLength: 1, description: 'Name of the rule, used in logs and events.' }),
    labels: opt(stringMap({ description: 'Labels to set when the rule matches.' })),
    labelsTemplate: opt(
      str({
        description: 'Template expanded over the matched features into key=value label lines.',
      }),
    ),
    annotations: opt(stringMap({ description: 'Annotations to set when the rule matches.' })),
    vars: opt(
      stringMap({
        description:
          'Values kept for later rules (feature rule.matched), not published on the node.',
      }),
    ),
    varsTemplate: opt(str({ description: 'Template expanded into key=value variable lines.' })),
    taints: opt(
      arr(Taint, { description: 'Taints to set when the rule matches (needs taints enabled).' }),
    ),
    extendedResources: opt(
      stringMap({
        description:
          'Extended resources to advertise; a value @<domain>.<feature>.<element> takes it from a feature.',
      }),
    ),
    ...matchProps,
  },
  {
    description:
      'One node customisation rule: conditions on features, and what to set when they hold.',
  },
);
export type Rule = Static<typeof Rule>;
