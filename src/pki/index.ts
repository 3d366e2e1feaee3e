/** DER, X.509 reading and certificate issuing: the one place hwe handles certificates. */
export * from './der.js';
export {
  type CertificateInfo,
  colonHex,
  commonName,
  parseCertificate,
  serialKeyId,
} from './x509.js';
export {
  type CertificateAndKey,
  type CertificateRequest,
  createCertificateAuthority,
  issueCertificate,
} from './certificate.js';
export {
  type ServingCertificate,
  type ServingCertificateRequest,
  certificateUsable,
  generateServingCertificate,
} from './serving.js';
