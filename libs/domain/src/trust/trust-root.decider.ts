import { DomainError } from '../domain-error';

/**
 * Roots an operator trusts in addition to the Mozilla roots that ship with Node (Exchange's
 * `RootCAType: Registry`). One stream per root, `trust-root-<sha256 lower-case hex>`, so that
 * adding and removing roots never contend with each other.
 */
export interface TrustedRootFacts {
  readonly sha256Fingerprint: string;
  readonly thumbprint: string;
  readonly subject: string;
  readonly notAfter: string;
  readonly certificatePem: string;
}

export type TrustRootEvent =
  /** An operator added a root certificate to the trust store. */
  | { type: 'TrustedRootAdded'; data: TrustedRootFacts & { addedBy: string } }
  /** An operator removed a root from the trust store; certificates chaining to it become Untrusted. */
  | { type: 'TrustedRootRemoved'; data: { sha256Fingerprint: string; removedBy: string } };

export const TRUST_ROOT_EVENT_SCHEMA_VERSIONS: Record<TrustRootEvent['type'], number> = {
  TrustedRootAdded: 1,
  TrustedRootRemoved: 1,
};

export type TrustRootState =
  | { state: 'Initial' }
  | { state: 'Trusted'; root: TrustedRootFacts }
  | { state: 'Removed'; root: TrustedRootFacts };

export type TrustRootCommand =
  /** `isCertificateAuthority`: the adapter checked the certificate is a self-signed CA certificate. */
  | { type: 'AddTrustedRoot'; data: TrustedRootFacts & { isCertificateAuthority: boolean }; actor: string }
  | { type: 'RemoveTrustedRoot'; data: Record<string, never>; actor: string };

export function decideTrustRoot(command: TrustRootCommand, state: TrustRootState): TrustRootEvent[] {
  switch (command.type) {
    case 'AddTrustedRoot': {
      if (state.state === 'Trusted') {
        throw new DomainError('RootAlreadyTrusted', `The root ${command.data.subject} (${command.data.thumbprint}) is already trusted.`, 'conflict');
      }
      if (!command.data.isCertificateAuthority) {
        throw new DomainError(
          'NotARootCertificate',
          `${command.data.subject} is not a root CA certificate (it must be self-signed with basicConstraints cA=true); add intermediates with the certificate instead.`,
          'unprocessable',
        );
      }
      const { isCertificateAuthority: _ca, ...root } = command.data;
      return [{ type: 'TrustedRootAdded', data: { ...root, addedBy: command.actor } }];
    }
    case 'RemoveTrustedRoot':
      if (state.state !== 'Trusted') throw new DomainError('RootNotTrusted', 'This root is not in the trust store.', 'not-found');
      return [{ type: 'TrustedRootRemoved', data: { sha256Fingerprint: state.root.sha256Fingerprint, removedBy: command.actor } }];
  }
}

export function evolveTrustRoot(state: TrustRootState, event: TrustRootEvent): TrustRootState {
  switch (event.type) {
    case 'TrustedRootAdded': {
      const { addedBy: _a, ...root } = event.data;
      return { state: 'Trusted', root };
    }
    case 'TrustedRootRemoved':
      return state.state === 'Initial' ? state : { state: 'Removed', root: state.root };
  }
}

export const trustRootStreamId = (sha256Fingerprint: string): string => `trust-root-${sha256Fingerprint.toLowerCase()}`;
