package io.github.dpucoordinator.common;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * dpuctl's logging, set up in code (logback finds it through META-INF/services): lines to stderr (stdout stays clean for
 * JSON) as {@code HH:mm:ss.SSS LEVEL Logger - message}, at {@code DPUCTL_LOG_LEVEL} (INFO), the journal's confirmations at
 * {@code DPUCTL_JOURNAL_LOG_LEVEL} (its DEBUG lines name every journaled event), the libraries' own at WARN. Reading an XML
 * file instead took logback a seventh of a second at every start. A file of your own still wins:
 * {@code -Dlogback.configurationFile=FILE} (and logback-test.xml in the tests).
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogSetup extends ContextAwareBase implements Configurator {
  /** Each line: time, level, logger, message. */
  public static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n";

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (System.getProperty("logback.configurationFile") != null || LogSetup.class.getClassLoader().getResource("logback-test.xml") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(PATTERN);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    Level level = Level.toLevel(System.getenv("DPUCTL_LOG_LEVEL"), Level.INFO);
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(level);
    root.addAppender(stderr);
    for (String library : new String[] {"slick", "com.zaxxer.hikari", "io.grpc", "org.apache.pekko"}) {
      context.getLogger(library).setLevel(Level.WARN);
    }
    context.getLogger("org.apache.pekko.io.TcpListener").setLevel(Level.OFF); // dpuctl reports a failed bind itself, in one line
    context.getLogger("io.github.dpucoordinator.journal").setLevel(Level.toLevel(System.getenv("DPUCTL_JOURNAL_LOG_LEVEL"), level));
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }
}
