package io.vipfarm.api.model;

/** Outcome of a release: releasing an address that is already free is not an error, it is skipped. */
public record ReleaseResult(String address, boolean released) {}
