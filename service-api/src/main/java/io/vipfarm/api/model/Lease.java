package io.vipfarm.api.model;

/**
 * A granted address.
 *
 * @param fence increases with every grant in the pool; renew and release must present it, so a
 *     stale request (an old agent, a reclaimed address re-granted since) can never touch a newer lease
 * @param grantedAt epoch millis
 * @param expiresAt epoch millis; the address is free again after this unless renewed
 */
public record Lease(
    String address, String pool, LeaseKey key, String user, long fence, long grantedAt, long expiresAt) {}
