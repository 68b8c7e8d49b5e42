package io.vipfarm.api.model;

/** Ask for an address from {@code pool} for {@code key}; {@code user} selects a reservation. */
public record AcquireRequest(String pool, LeaseKey key, String user) {}
