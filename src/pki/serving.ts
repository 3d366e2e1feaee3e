/**
 * Self-managed serving certificates (the admission webhook's, the metrics endpoint's): a private
 * CA and a server certificate it signs. A webhook's caller trusts the CA through the webhook
 * configuration's caBundle.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createCertificateAuthority, issueCertificate } from './certificate.js';

export interface ServingCertificateRequest {
  /** DNS names the server answers to, e.g. `kmm-webhook.openshift-kmm.svc`. */
  dnsNames: string[];
  /** IP addresses, e.g. 127.0.0.1 for a webhook reached by URL on the local machine. */
  ipAddresses?: string[];
  /** Lifetime of both certificates (default 365 days). */
  validityDays?: number;
  /** For tests: the issue time. */
  now?: Date;
}

export interface ServingCertificate {
  /** PEM: the CA to put in caBundle. */
  caPem: string;
  /** PEM: the serving certificate (tls.crt). */
  certPem: string;
  /** PEM (PKCS#8): its key (tls.key). */
  keyPem: string;
}

/** A new CA and a serving certificate for the given names, signed by it. */
export function generateServingCertificate(req: ServingCertificateRequest): ServingCertificate {
  if (req.dnsNames.length === 0 && !req.ipAddresses?.length) {
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  }
  const now = req.now ?? new Date();
  const validity = { now, validityDays: req.validityDays ?? 365 };
  const ca = createCertificateAuthority(
    `hwe-serving-ca@${Math.floor(now.getTime() / 1000)}`,
    validity,
  );
  const leaf = issueCertificate(ca, {
    ...validity,
    commonName: req.dnsNames[0] ?? req.ipAddresses![0]!,
    dnsNames: req.dnsNames,
    ipAddresses: req.ipAddresses ?? [],
  });
  return { caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
}

/**
 * Whether a stored certificate can still be used: it parses, matches its key, was signed by
 * the CA, covers every name, and stays valid for at least `minRemainingMs`.
 */
export function certificateUsable(
  pair: Partial<ServingCertificate>,
  names: { dnsNames: string[]; ipAddresses?: string[] },
  minRemainingMs: number,
  now = new Date(),
): boolean {
  if (!pair.caPem || !pair.certPem || !pair.keyPem) return false;
  try {
    const ca = new X509Certificate(pair.caPem);
    const cert = new X509Certificate(pair.certPem);
    if (!cert.verify(ca.publicKey)) return false;
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return false;
    const remaining = Date.parse(cert.validTo) - now.getTime();
    if (remaining < minRemainingMs || Date.parse(cert.validFrom) > now.getTime()) return false;
    if (Date.parse(ca.validTo) - now.getTime() < minRemainingMs) return false;
    if (!names.dnsNames.every((d) => cert.checkHost(d, { wildcards: false }) === d)) return false;
    return (names.ipAddresses ?? []).every((ip) => cert.checkIP(ip) === ip);
  } catch {
    return false;
  }
}
