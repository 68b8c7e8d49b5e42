package io.vipfarm.deploy.bridge;

import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * The bridge's TLS: both sides present a certificate signed by the farm CA ({@code vipfarm ca}); agents
 * check the control member's name against the address they dialled, the bridge requires a client
 * certificate and takes the agent's host id from its common name.
 *
 * @param cert this side's PEM certificate
 * @param key its PEM private key (PKCS#8)
 * @param ca the farm CA's PEM certificate, the only one trusted
 */
public record BridgeTls(Path cert, Path key, Path ca) {

  NetServerOptions serverOptions(String host, int port) {
    return new NetServerOptions().setHost(host).setPort(port).setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString()))
        .setTrustOptions(new PemTrustOptions().addCertPath(ca.toString()))
        .setClientAuth(ClientAuth.REQUIRED)
        .setTcpKeepAlive(true);
  }

  NetClientOptions clientOptions() {
    return new NetClientOptions().setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString()))
        .setTrustOptions(new PemTrustOptions().addCertPath(ca.toString()))
        .setHostnameVerificationAlgorithm("HTTPS")
        .setConnectTimeout(3_000)
        .setTcpKeepAlive(true);
  }

  /** The common name of a certificate's subject, if it has one. */
  public static Optional<String> commonName(X509Certificate cert) {
    try {
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if ("CN".equalsIgnoreCase(rdn.getType())) {
          return Optional.of(rdn.getValue().toString());
        }
      }
    } catch (InvalidNameException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  /** The common name of the PEM certificate in {@code file} (an agent checks its own against --host-id). */
  public static Optional<String> commonName(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return commonName((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in));
    } catch (CertificateException e) {
      throw new IOException("not a PEM certificate: " + file + " (" + e.getMessage() + ")", e);
    }
  }
}
