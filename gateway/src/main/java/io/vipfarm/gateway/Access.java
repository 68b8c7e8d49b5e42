package io.vipfarm.gateway;

/**
 * Who may call an operation. Named after the roles of the gateway's access model (readers, operators
 * of sessions, administrators of pools and policies); for now reading is open and both other levels
 * need the bootstrap admin token.
 */
enum Access {
  /** Queries: open. */
  READ,
  /** Session start and end. */
  OPERATE,
  /** Pools and policies. */
  ADMINISTER;

  boolean needsToken() {
    return this != READ;
  }
}
