package io.vipfarm.agent.ifaddr;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What to change on the VIP interface so that it carries exactly the VIPs this host holds: the pure
 * part of {@link InterfaceVips}, with no I/O.
 *
 * <p>vipfarm marks every address it adds with the label {@code <interface>:vf} (see {@link #labelOf}).
 * The label lives in the kernel with the address, so after a crash the agent still knows which
 * addresses are its own without a state file that could disagree with the kernel, and it never removes
 * an address it did not add: an address without the label is left alone, even when no lease holds it.
 * Addresses in 127.0.0.0/8 are never managed (Linux routes all of it to {@code lo}).
 *
 * @param toAdd held VIPs present nowhere on the host: add them, labelled
 * @param toRemove addresses with vipfarm's label on the interface that no lease holds any more
 * @param leftAlone held VIPs the host already has without vipfarm's label (configured by someone
 *     else, or on another interface): neither added nor ever removed
 */
public record VipAddressPlan(List<String> toAdd, List<String> toRemove, List<String> leftAlone) {
  /** Appended to the interface name to form the label of vipfarm's addresses. */
  public static final String LABEL_SUFFIX = ":vf";
  /** The kernel's limit on interface names and labels (IFNAMSIZ minus the NUL). */
  static final int MAX_LABEL_LENGTH = 15;
  private static final Pattern INTERFACE_NAME = Pattern.compile("[A-Za-z0-9_.-]+");
  private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

  public VipAddressPlan {
    toAdd = List.copyOf(toAdd);
    toRemove = List.copyOf(toRemove);
    leftAlone = List.copyOf(leftAlone);
  }

  public boolean isEmpty() {
    return toAdd.isEmpty() && toRemove.isEmpty();
  }

  /**
   * The changes that make {@code interfaceName} carry the managed addresses of {@code held}, given what
   * the host has now ({@code present}, every interface). Results are in address order of the inputs.
   */
  public static VipAddressPlan between(String interfaceName, Collection<String> held, List<PresentAddress> present) {
    String label = labelOf(interfaceName);
    Set<String> wanted = new LinkedHashSet<>();
    held.stream().filter(VipAddressPlan::needsInterface).forEach(wanted::add);
    Set<String> ours = new LinkedHashSet<>();
    Set<String> others = new HashSet<>();
    for (PresentAddress p : present) {
      if (p.interfaceName().equals(interfaceName) && label.equals(p.label())) {
        ours.add(p.address());
      } else {
        others.add(p.address());
      }
    }
    List<String> toAdd = new ArrayList<>();
    List<String> leftAlone = new ArrayList<>();
    for (String address : wanted) {
      if (others.contains(address)) {
        leftAlone.add(address);
      } else if (!ours.contains(address)) {
        toAdd.add(address);
      }
    }
    List<String> toRemove = ours.stream().filter(a -> !wanted.contains(a)).toList();
    return new VipAddressPlan(toAdd, toRemove, leftAlone);
  }

  /** True for an IPv4 address outside 127.0.0.0/8: one that must be on an interface to be usable. */
  public static boolean needsInterface(String address) {
    if (address == null || !IPV4.matcher(address).matches()) {
      return false;
    }
    return !address.startsWith("127.");
  }

  /** The label vipfarm gives its addresses on {@code interfaceName}. */
  public static String labelOf(String interfaceName) {
    return interfaceName + LABEL_SUFFIX;
  }

  /**
   * Refuses an interface name that cannot carry vipfarm's label: the kernel limits labels to 15
   * characters, and iproute2 requires a label to start with the interface name.
   */
  public static String checkInterfaceName(String interfaceName) {
    if (interfaceName == null || !INTERFACE_NAME.matcher(interfaceName).matches()) {
      throw new IllegalArgumentException("'" + interfaceName + "' is not an interface name");
    }
    int longest = MAX_LABEL_LENGTH - LABEL_SUFFIX.length();
    if (interfaceName.length() > longest) {
      throw new IllegalArgumentException("interface name '" + interfaceName + "' is longer than " + longest
          + " characters: vipfarm marks its addresses with the label '" + labelOf(interfaceName)
          + "', and the kernel allows labels of at most " + MAX_LABEL_LENGTH + " (rename the interface)");
    }
    return interfaceName;
  }
}
