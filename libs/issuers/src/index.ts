export * from './self-signed/self-signed.issuer';
export * from './internal-ca/internal-ca.store';
export * from './internal-ca/internal-ca.issuer';
export * from './acme/acme-errors';
export * from './acme/acme-account.store';
export * from './acme/acme-challenges.adapter';
export * from './acme/acme.issuer';
export * from './acme/renewal-info.client';
