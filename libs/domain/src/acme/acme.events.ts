/**
 * certflow's account at an ACME CA (stream `acme-account-<first 16 hex digits of the SHA-256
 * of the directory URL>`, one stream per directory). The account key lives in the key vault;
 * the event carries its vault id only.
 */
export type AcmeAccountEvent =
  /**
   * certflow registered an account at the CA (terms of service agreed on the operator's
   * behalf, `email` as the contact when configured) and will sign every order with the key
   * stored under `keyId`. Recorded once per directory with expected version 0: when two
   * workers register at the same time, the first append wins and the other uses its account.
   */
  {
    type: 'AcmeAccountRegistered';
    data: { directoryUrl: string; accountUrl: string; keyId: string; email: string | null };
  };

export const ACME_ACCOUNT_EVENT_SCHEMA_VERSIONS: Record<AcmeAccountEvent['type'], number> = { AcmeAccountRegistered: 1 };

/** The stream prefix; the suffix is derived from the directory URL by the account store. */
export const ACME_ACCOUNT_STREAM_PREFIX = 'acme-account-';
