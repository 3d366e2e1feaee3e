export { operatorCommand } from './command.js';
export {
  CONFIG_KEY,
  CONFIG_MAP_NAME,
  ConfigError,
  defaultConfig,
  defaultConfigYaml,
  parseOperatorConfig,
  type OperatorConfig,
} from './config.js';
export {
  DEVICE_PLUGIN_SERVICE_ACCOUNT,
  OPERATOR_HEAP_GROWTH_PERCENT,
  OPERATOR_OPTIMIZE_FOR_SIZE,
  OPERATOR_LIST_PAGE_SIZE,
  OPERATOR_MAX_SOCKETS,
  setupKmmControllers,
  setupKmmOperator,
  type FullOperatorOptions,
  WORKER_SERVICE_ACCOUNT,
  type KmmOperatorOptions,
} from './setup.js';
