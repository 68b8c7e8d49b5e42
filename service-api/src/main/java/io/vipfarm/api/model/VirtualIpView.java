package io.vipfarm.api.model;

/** One VIP of a session; {@code program} is null for the session-wide address. */
public record VirtualIpView(String address, String pool, String program, long expiresAt) {}
