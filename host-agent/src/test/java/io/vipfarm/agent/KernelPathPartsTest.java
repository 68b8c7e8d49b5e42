package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.VipMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The pure parts of the kernel path: cgroup paths, mode selection, uids, IPv6 loopbacks, rules lines. */
class KernelPathPartsTest {

  @Nested
  class Cgroups {
    private final CgroupTree tree = new CgroupTree(Path.of("/sys/fs/cgroup/unified/vipfarm.slice"));

    @Test
    @DisplayName("a session's cgroup is session-<id> under the parent")
    void sessionDir() {
      assertThat(tree.sessionDir("7")).isEqualTo(Path.of("/sys/fs/cgroup/unified/vipfarm.slice/session-7"));
      assertThat(tree.sessionDir("c3")).isEqualTo(Path.of("/sys/fs/cgroup/unified/vipfarm.slice/session-c3"));
    }

    @Test
    @DisplayName("an id that is not a session id never becomes a path")
    void refusesPathTricks() {
      for (String bad : List.of("..", "../x", "a/b", "", "7 ")) {
        assertThatThrownBy(() -> tree.sessionDir(bad)).as(bad).isInstanceOf(VipfarmException.class);
      }
    }

    @Test
    @DisplayName("directories are read back as sessions only when they are the parent's session-<id> children")
    void sessionOf() {
      assertThat(tree.sessionOf(tree.sessionDir("42"))).contains("42");
      assertThat(tree.sessionOf(tree.parent().resolve("session-x"))).isEmpty();
      assertThat(tree.sessionOf(tree.parent().resolve("other"))).isEmpty();
      assertThat(tree.sessionOf(Path.of("/sys/fs/cgroup/unified/session-7"))).isEmpty();
    }

    @Test
    @DisplayName("the cgroup2 mount is found on hybrid and unified hosts, with escaped blanks")
    void cgroup2Mount() {
      String hybrid = """
          sysfs /sys sysfs rw,nosuid 0 0
          tmpfs /sys/fs/cgroup tmpfs ro,nosuid 0 0
          cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime 0 0
          cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0
          """;
      assertThat(CgroupTree.cgroup2Mount(hybrid)).contains(Path.of("/sys/fs/cgroup/unified"));
      assertThat(CgroupTree.cgroup2Mount("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n")).contains(Path.of("/sys/fs/cgroup"));
      assertThat(CgroupTree.cgroup2Mount("none /my\\040cg cgroup2 rw 0 0\n")).contains(Path.of("/my cg"));
      assertThat(CgroupTree.cgroup2Mount("cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n")).isEmpty();
    }

    @Test
    @DisplayName("the default parent is vipfarm.slice under the mount")
    void defaultParent() {
      assertThat(CgroupTree.under(Path.of("/sys/fs/cgroup")).parent()).isEqualTo(Path.of("/sys/fs/cgroup/vipfarm.slice"));
    }
  }

  @Nested
  class ModeSelection {
    private final AtomicInteger probes = new AtomicInteger();

    private Interception.Probe probe(Interception.Probe result) {
      probes.incrementAndGet();
      return result;
    }

    @Test
    @DisplayName("auto takes the kernel path where the probe succeeds")
    void autoKernel() {
      Interception chosen = Interception.choose("auto", () -> probe(Interception.Probe.ok()));
      assertThat(chosen.mode()).isEqualTo(Interception.KERNEL);
      assertThat(chosen.kernel()).isTrue();
    }

    @Test
    @DisplayName("auto falls back to preload and says why")
    void autoFallsBack() {
      Interception chosen = Interception.choose("auto", () -> probe(Interception.Probe.missing("kernel 4.19 is too old")));
      assertThat(chosen.mode()).isEqualTo(Interception.PRELOAD);
      assertThat(chosen.reason()).contains("fell back").contains("kernel 4.19 is too old");
    }

    @Test
    @DisplayName("preload never probes")
    void preloadDoesNotProbe() {
      Interception chosen = Interception.choose("preload", () -> probe(Interception.Probe.ok()));
      assertThat(chosen.mode()).isEqualTo(Interception.PRELOAD);
      assertThat(probes).hasValue(0);
    }

    @Test
    @DisplayName("kernel where it does not work is refused with the reason, not weakened")
    void kernelRefused() {
      assertThatThrownBy(() -> Interception.choose("kernel", () -> probe(Interception.Probe.missing("no cgroup2"))))
          .isInstanceOf(Interception.UnavailableException.class)
          .hasMessageContaining("no cgroup2");
      assertThat(Interception.choose("KERNEL", () -> probe(Interception.Probe.ok())).mode()).isEqualTo("kernel");
    }

    @Test
    @DisplayName("an unknown mode is refused")
    void unknownMode() {
      assertThatThrownBy(() -> Interception.parseRequest("ebpf")).hasMessageContaining("auto, kernel or preload");
    }
  }

  @Nested
  class Users {
    private final SystemUsers users = SystemUsers.parse("""
        root:x:0:0:root:/root:/bin/bash
        # a comment
        postgres:x:106:110:PostgreSQL:/var/lib/postgresql:/bin/bash
        broken line
        odd:x:notanumber:1::/:/bin/sh
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
        """);

    @Test
    @DisplayName("names become uids in order, numbers are uids, repeats are dropped, unknown names reported")
    void uidsOf() {
      List<String> unknown = new ArrayList<>();
      assertThat(users.uidsOf(List.of("postgres", "0", "nobody", "ghost", "106", "4294967296"), unknown::add))
          .containsExactly(106L, 0L, 65534L);
      assertThat(unknown).containsExactly("ghost", "4294967296");
    }

    @Test
    @DisplayName("malformed passwd lines are skipped")
    void malformed() {
      assertThat(users.uids()).containsOnlyKeys("root", "postgres", "nobody");
    }
  }

  @Nested
  class Ipv6 {
    private final Loopback6 prefix = Loopback6.parse(Loopback6.DEFAULT_PREFIX);

    @Test
    @DisplayName("session n gets prefix + n + 1; logind ids count down like their IPv4 loopbacks")
    void addresses() {
      assertThat(prefix.addressOf(LoopbackAddress.of("7"))).isEqualTo("fd7f:7f7f:7f7f::8");
      assertThat(prefix.addressOf(LoopbackAddress.of("255"))).isEqualTo("fd7f:7f7f:7f7f::100");
      assertThat(prefix.addressOf(LoopbackAddress.of("16777214"))).isEqualTo("fd7f:7f7f:7f7f::ff:ffff");
      assertThat(prefix.addressOf(LoopbackAddress.of("c1"))).isEqualTo("fd7f:7f7f:7f7f::ff:ffff");
      assertThat(prefix.addressOf(LoopbackAddress.of("c2"))).isEqualTo("fd7f:7f7f:7f7f::ff:fffe");
    }

    @Test
    @DisplayName("session 0 keeps the host's ::1, as it keeps 127.0.0.1")
    void sessionZero() {
      assertThat(prefix.addressOf(LoopbackAddress.of("0"))).isNull();
    }

    @Test
    @DisplayName("only unique-local /64 prefixes are taken; host bits are ignored")
    void prefixes() {
      assertThat(Loopback6.parse("fd12:3456:789a:1::99/64").toString()).isEqualTo("fd12:3456:789a:1::/64");
      assertThat(Loopback6.parse("fc00::/64").addressOf(LoopbackAddress.of("1"))).isEqualTo("fc00::2");
      for (String bad : List.of("2001:db8::/64", "fd00::/48", "fd00::", "127.0.0.0/64", "zz::/64")) {
        assertThatThrownBy(() -> Loopback6.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
      }
    }

    @Test
    @DisplayName("text follows RFC 5952: the longest zero run compressed, lower case")
    void text() {
      byte[] bytes = new byte[16];
      bytes[15] = 1;
      assertThat(Loopback6.text(bytes)).isEqualTo("::1");
      bytes[0] = (byte) 0xfd;
      bytes[7] = 5;
      assertThat(Loopback6.text(bytes)).isEqualTo("fd00:0:0:5::1");
      assertThat(Loopback6.text(new byte[16])).isEqualTo("::");
    }
  }

  @Nested
  class Rules {
    private EffectivePolicy policy(boolean isolation, List<String> allowUsers) {
      return new EffectivePolicy(true, List.of("*"), List.of(), false, VipMode.PER_SESSION, "default", List.of(),
          OnExhausted.FALLBACK_HOST_IP, false, List.of(), List.of("p"), isolation, allowUsers);
    }

    @Test
    @DisplayName("the loopback block carries loopback6, isolation and the allowed uids")
    void isolationOn() {
      String text = SessionRules.render("7", LoopbackAddress.of("7"),
          new SessionRules.Isolation("fd7f:7f7f:7f7f::8", List.of(0L, 106L)), policy(true, List.of("root")),
          List.of(), List.of());
      assertThat(text).isEqualTo("""
          vipfarm-rules 1
          session 7
          loopback4 127.0.0.8
          loopback6 fd7f:7f7f:7f7f::8
          loopback-programs *
          isolation on
          isolation-allow-uids 0 106
          """);
    }

    @Test
    @DisplayName("isolation off writes off and no uids; no IPv6 loopback writes no loopback6")
    void isolationOff() {
      String text = SessionRules.render("7", LoopbackAddress.of("7"), new SessionRules.Isolation(null, List.of(0L)),
          policy(false, List.of("root")), List.of(), List.of());
      assertThat(text).contains("isolation off\n").doesNotContain("loopback6").doesNotContain("isolation-allow-uids");
    }

    @Test
    @DisplayName("without virtual loopback there is nothing to isolate: no loopback lines at all")
    void noLoopback() {
      String text = SessionRules.render("7", null, new SessionRules.Isolation("fd7f:7f7f:7f7f::8", List.of()),
          policy(true, List.of()), List.of(), List.of());
      assertThat(text).doesNotContain("loopback").doesNotContain("isolation");
    }
  }
}
