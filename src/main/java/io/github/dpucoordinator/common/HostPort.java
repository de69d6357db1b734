package io.github.dpucoordinator.common;

/** A {@code HOST:PORT} address to connect to ({@code [::1]:50100} for IPv6), checked before anything starts. */
public record HostPort(String host, int port) {

  /** Throws IllegalArgumentException naming {@code what} (e.g. "--admin") when {@code text} is not HOST:PORT with a port 1-65535. */
  public static HostPort parse(String text, String what) {
    String t = text == null ? "" : text.strip();
    int colon = t.lastIndexOf(':');
    if (colon <= 0 || colon == t.length() - 1) {
      throw new IllegalArgumentException(what + " '" + text + "' is not HOST:PORT (for example 127.0.0.1:50100 or [::1]:50100)");
    }
    String host = t.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.contains(":")) {
      throw new IllegalArgumentException(what + " '" + text + "': write an IPv6 address in brackets, e.g. [::1]:50100");
    }
    int port;
    try {
      port = Integer.parseInt(t.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(what + " '" + text + "': the port is not a number");
    }
    if (host.isBlank()) {
      throw new IllegalArgumentException(what + " '" + text + "' has no host");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(what + " '" + text + "': port " + port + " is out of range 1-65535");
    }
    return new HostPort(host, port);
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** Whether {@code host} names only this machine: localhost or a loopback address (a name is not looked up). */
  public static boolean isLoopback(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    return h.equals("localhost") || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1") || h.startsWith("127.");
  }
}
