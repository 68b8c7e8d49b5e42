package io.vipfarm.agent.ifaddr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class IpCommandTest {
  /** Verbatim output of {@code ip -j -4 addr show} (iproute2 6.1) with a labelled VIP. */
  private static final String OUTPUT = """
      [{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue",\
      "operstate":"UNKNOWN","group":"default","txqlen":1000,"addr_info":[{"family":"inet","local":"127.0.0.1",\
      "prefixlen":8,"scope":"host","label":"lo","valid_life_time":4294967295,"preferred_life_time":4294967295}]},\
      {"ifindex":3,"link":"vf1","ifname":"vf0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,\
      "qdisc":"noqueue","operstate":"UP","group":"default","txqlen":1000,"addr_info":[{"family":"inet",\
      "local":"10.77.0.1","prefixlen":24,"scope":"global","label":"vf0","valid_life_time":4294967295,\
      "preferred_life_time":4294967295},{"family":"inet","local":"10.77.0.9","prefixlen":32,"scope":"global",\
      "label":"vf0:vf","valid_life_time":4294967295,"preferred_life_time":4294967295}]}]
      """;

  @Test
  void readsEveryAddressWithItsLabel() {
    assertThat(IpCommand.parse(OUTPUT)).containsExactly(
        new PresentAddress("lo", "127.0.0.1", 8, "lo"),
        new PresentAddress("vf0", "10.77.0.1", 24, "vf0"),
        new PresentAddress("vf0", "10.77.0.9", 32, "vf0:vf"));
  }

  @Test
  void emptyAndBrokenOutput() {
    assertThat(IpCommand.parse("")).isEmpty();
    assertThat(IpCommand.parse("[{\"ifname\":\"eth0\",\"addr_info\":[]}]")).isEmpty();
    assertThatThrownBy(() -> IpCommand.parse("Error: not json")).hasMessageContaining("ip -j -4 addr show");
  }

  @Test
  void aFailureNamesTheCommandAndWhatItSaid() {
    IpCommand failing = new IpCommand(List.of("sh", "-c", "echo 'Cannot find device' >&2; exit 1", "ip"), 10);
    assertThatThrownBy(() -> failing.add("eth9", "10.0.0.9", "eth9:vf"))
        .hasMessageContaining("addr add 10.0.0.9/32 dev eth9 label eth9:vf")
        .hasMessageContaining("exit 1").hasMessageContaining("Cannot find device");
  }

  @Test
  void aCommandThatHangsIsEndedAfterItsTimeout() {
    IpCommand hanging = new IpCommand(List.of("sh", "-c", "sleep 30", "ip"), 1);
    long started = System.nanoTime();
    assertThatThrownBy(hanging::addresses).hasMessageContaining("did not finish within 1 s");
    assertThat(System.nanoTime() - started).isLessThan(20_000_000_000L);
  }
}
