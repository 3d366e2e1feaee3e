export { operatorCommand } from './command.js';
export { setupNfdOperator, type NfdOperatorOptions, type OperatorStats } from './controller.js';
export {
  renderOperands,
  operandNames,
  workerConfigText,
  RenderError,
  type Operand,
  type OperatorSettings,
  type Rendered,
} from './render.js';
export { loadOperandRbac, OPERAND_RBAC_DIR } from './rbac.js';
export { computeConditions, componentHealth } from './status.js';
export * from './constants.js';
