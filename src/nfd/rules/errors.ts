import { quoteValue } from '../../api/decode.js';
/**
 * A rule that cannot be evaluated. `kind` says whether the rule itself is malformed (it can never
 * work) or whether evaluating it against one node's features failed (e.g. a Gt over a feature
 * value that is not a number); `field` is the path inside the rule, e.g.
 * `matchFeatures[1].matchExpressions.vendor.value`.
 */
export type RuleErrorKind = 'InvalidRule' | 'EvaluationFailed';

export class RuleError extends Error {
  constructor(
    readonly kind: RuleErrorKind,
    readonly rule: string,
    readonly field: string,
    readonly detail: string,
  ) {
    super(`rule ${quoteValue(rule)}: ${field ? `${field}: ` : ''}${detail}`);
    this.name = 'RuleError';
  }
}

/**
 * Thrown inside the engine where the rule name is not known yet; the rule compiler and
 * evaluator wrap it into a RuleError with the rule name.
 */
export class FieldError extends Error {
  constructor(
    readonly kind: RuleErrorKind,
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'FieldError';
  }
}

/**
 * A mistake in a rule that upstream reports only when evaluation reaches it (a wrong value count,
 * an operand that is not a number, a regex or template that does not parse, …). The rule still
 * applies wherever evaluation does not reach the mistake; where it does, the rule fails with
 * the same message.
 */
export interface RuleWarning {
  rule: string;
  field: string;
  detail: string;
}
