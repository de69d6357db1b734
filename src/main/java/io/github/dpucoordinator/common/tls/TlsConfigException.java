package io.github.dpucoordinator.common.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Instant;

/** TLS settings that cannot work, the message naming the config key (the service refuses to start with it). */
public final class TlsConfigException extends IllegalArgumentException {
  public TlsConfigException(String message) {
    super(message);
  }

  interface Read<T> {
    T read() throws IOException, GeneralSecurityException;
  }

  static <T> T read(String key, Path file, Read<T> reader) {
    try {
      return reader.read();
    } catch (NoSuchFileException e) {
      throw new TlsConfigException(key + ": " + file + " does not exist");
    } catch (IOException e) {
      throw new TlsConfigException(key + ": cannot read " + file + " (" + e + ")");
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new TlsConfigException(key + ": " + file + " is not usable (" + e.getMessage() + ")");
    }
  }

  static FileTime mtime(String key, Path file) {
    if (!Files.isReadable(file)) {
      throw new TlsConfigException(key + ": " + file + (Files.exists(file) ? " is not readable by this user" : " does not exist"));
    }
    return read(key, file, () -> Files.getLastModifiedTime(file));
  }

  static void checkValidity(String key, Path file, X509Certificate c, Instant now) {
    if (c.getNotAfter().toInstant().isBefore(now)) {
      throw new TlsConfigException(key + ": the certificate in " + file + " (" + c.getSubjectX500Principal().getName() + ") expired on "
          + c.getNotAfter().toInstant());
    }
    if (c.getNotBefore().toInstant().isAfter(now)) {
      throw new TlsConfigException(key + ": the certificate in " + file + " (" + c.getSubjectX500Principal().getName()
          + ") is not valid before " + c.getNotBefore().toInstant());
    }
  }
}
