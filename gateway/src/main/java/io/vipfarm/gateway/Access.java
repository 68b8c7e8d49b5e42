package io.vipfarm.gateway;

/**
 * Who may call an operation. Everything but the probes and the contract needs a bearer token; the
 * token's {@link TokenRole} must reach the operation's level.
 */
enum Access {
  /** /health, /ready and /openapi.yaml: no token, so that probes and tooling need no secret. */
  PUBLIC,
  /** Queries, /metrics and the event streams: any token ({@code reader} and up). */
  READ,
  /** Session start and end: {@code operator} or {@code admin}. */
  OPERATE,
  /** Pools, policies, tokens, webhooks and the audit history: {@code admin}. */
  ADMINISTER;

  boolean needsToken() {
    return this != PUBLIC;
  }
}
