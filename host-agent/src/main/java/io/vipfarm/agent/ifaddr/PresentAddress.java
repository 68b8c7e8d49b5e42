package io.vipfarm.agent.ifaddr;

/**
 * An IPv4 address the kernel has on an interface, as {@code ip -j -4 addr show} reports it.
 *
 * @param label the address label ({@code IFA_LABEL}); by default the interface's name
 */
public record PresentAddress(String interfaceName, String address, int prefixLength, String label) {}
