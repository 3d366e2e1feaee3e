/** The KMM admission webhook: handlers, server start-up, certificates and configuration. */
export {
  WEBHOOK_PATHS,
  kmmWebhookRunnable,
  namespaceGuard,
  registerKmmWebhooks,
  startKmmWebhook,
  validateKmmAdmission,
  type KmmWebhook,
  type KmmWebhookOptions,
} from './server.js';
export {
  kmmWebhookConfiguration,
  type ValidatingWebhookConfiguration,
  type WebhookConfigurationOptions,
} from './configuration.js';
export {
  ensureSelfManagedCertificate,
  RENEW_BEFORE_MS,
  type CertificateFiles,
  type SelfManagedCertificateOptions,
} from './provision.js';
export { webhookCommand } from './command.js';
