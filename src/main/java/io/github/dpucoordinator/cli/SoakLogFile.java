package io.github.dpucoordinator.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.FileAppender;
import io.github.dpucoordinator.common.LogSetup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * While the soak runs, the log lines of what runs in its own process (the agents, G0's offloader) go to a file in its
 * directory at INFO, where a violation can be traced; on the console too only when {@code verbose}. Put back as it was
 * when closed. A file that cannot be opened leaves the lines where they went.
 */
final class SoakLogFile implements AutoCloseable {
  private final Logger root;
  private final Level level;
  private final List<Appender<ILoggingEvent>> detached = new ArrayList<>();
  private final FileAppender<ILoggingEvent> file;

  private SoakLogFile(Path path, boolean verbose) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    level = root.getLevel();
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(LogSetup.PATTERN);
    encoder.start();
    file = new FileAppender<>();
    file.setContext(context);
    file.setName("SOAK-DPUS");
    file.setFile(path.toString());
    file.setAppend(false); // one run's lines, also when --dir is used again
    file.setEncoder(encoder);
    file.start();
    if (!file.isStarted()) { // the lines stay where they went
      return;
    }
    if (!verbose) {
      for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext();) {
        detached.add(it.next());
      }
      detached.forEach(root::detachAppender);
    }
    root.addAppender(file);
    if (!root.isEnabledFor(Level.INFO)) { // more detail, never less (DPUCTL_LOG_LEVEL=DEBUG stays)
      root.setLevel(Level.INFO);
    }
  }

  static SoakLogFile open(Path path, boolean verbose) {
    return new SoakLogFile(path, verbose);
  }

  @Override
  public void close() {
    root.detachAppender(file);
    file.stop();
    detached.forEach(root::addAppender);
    root.setLevel(level);
  }
}
