package io.vipfarm.agent;

import io.netty.channel.epoll.Epoll;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A small JVM program that {@link ShimRuntimesTest} runs under the preload shim (with {@code java} and the
 * test class path, as a separate process).
 *
 * <ul>
 *   <li>{@code serve TAG WILDCARD_PORT LOOPBACK_PORT VERTX_PORT}: a plain {@link ServerSocket} bound to the
 *       wildcard (the JVM binds {@code ::}), one bound to 127.0.0.1, and a Vert.x {@link NetServer} with
 *       {@code setPreferNativeTransport(true)} (host 0.0.0.0); ports 0 = any. Prints one line
 *       {@code ready W L V wildcard A loopback B localhost H epoll E native N}: the ports, the addresses
 *       the program sees, {@code InetAddress.getLocalHost()}, whether epoll is available and whether
 *       Vert.x uses the native transport. Every connection gets {@code TAG PEER} (the peer's address
 *       as the program sees it) and is closed. Runs until killed.
 *   <li>{@code client HOST PORT}: connects (unbound) and prints the line it gets.
 * </ul>
 */
public final class ShimJvmProbe {
  private ShimJvmProbe() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 5 && args[0].equals("serve")) {
      serve(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]));
    } else if (args.length == 3 && args[0].equals("client")) {
      try (Socket s = new Socket()) {
        s.setSoTimeout(5_000);
        s.connect(new InetSocketAddress(args[1], Integer.parseInt(args[2])), 5_000);
        System.out.println(new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))
            .readLine());
      }
    } else {
      System.err.println("usage: serve TAG W L V | client HOST PORT");
      System.exit(2);
    }
  }

  private static void serve(String tag, int wildcardPort, int loopbackPort, int vertxPort) throws Exception {
    ServerSocket wildcard = new ServerSocket();
    wildcard.bind(new InetSocketAddress(wildcardPort));
    ServerSocket loopback = new ServerSocket();
    loopback.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), loopbackPort));
    for (ServerSocket server : new ServerSocket[] {wildcard, loopback}) {
      Thread t = new Thread(() -> answer(server, tag));
      t.setDaemon(true);
      t.start();
    }
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    NetServer net = vertx.createNetServer()
        .connectHandler(socket -> socket.end(Buffer.buffer(tag + " " + socket.remoteAddress().host() + "\n")));
    net.listen(vertxPort, "0.0.0.0").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    System.out.println("ready " + wildcard.getLocalPort() + " " + loopback.getLocalPort() + " " + net.actualPort()
        + " wildcard " + wildcard.getInetAddress().getHostAddress()
        + " loopback " + loopback.getInetAddress().getHostAddress()
        + " localhost " + InetAddress.getLocalHost().getHostAddress()
        + " epoll " + Epoll.isAvailable() + " native " + vertx.isNativeTransportEnabled());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }

  private static void answer(ServerSocket server, String tag) {
    while (true) {
      try (Socket s = server.accept()) {
        OutputStream out = s.getOutputStream();
        out.write((tag + " " + s.getInetAddress().getHostAddress() + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
      } catch (Exception e) {
        return;
      }
    }
  }
}
