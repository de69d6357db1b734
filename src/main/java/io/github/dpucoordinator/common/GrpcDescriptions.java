package io.github.dpucoordinator.common;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.Trailer;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.javadsl.Source;
import scala.jdk.javaapi.CollectionConverters;


/**
 * Keeps the description of every answer a server sends (its {@code grpc-message}) within {@value #MAX} bytes, wherever
 * the answer carries it: in its headers (an answer without messages), in its trailer attribute or in the last chunk of
 * a stream. A refusal that quotes what it refuses (a 20,000-character container name) would otherwise exceed the
 * client's limit on metadata (8 KiB in grpc-java), which fails the call with INTERNAL "http2 exception" instead of the
 * refusal. The cut description says how long it was.
 */
public final class GrpcDescriptions {
  static final int MAX = 1024;
  private static final String NAME = "grpc-message";

  private GrpcDescriptions() {}

  /** {@code handler} with its answers' descriptions capped. */
  public static Function<HttpRequest, CompletionStage<HttpResponse>> capped(Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    return request -> handler.apply(request).thenApply(GrpcDescriptions::cap);
  }

  static HttpResponse cap(HttpResponse response) {
    HttpResponse out = response;
    Optional<HttpHeader> header = out.getHeader(NAME);
    if (header.isPresent() && header.get().value().length() > MAX) {
      out = out.removeHeader(NAME).addHeader(RawHeader.create(NAME, cut(header.get().value())));
    }
    Optional<Trailer> trailer = out.getAttribute(AttributeKeys.trailer);
    if (trailer.isPresent()) {
      List<HttpHeader> headers = new ArrayList<>();
      CollectionConverters.asJava(((org.apache.pekko.http.scaladsl.model.Trailer) trailer.get()).headers())
          .forEach(h -> headers.add(RawHeader.create(h._1(), h._2())));
      if (capIn(headers)) {
        out = out.addAttribute(AttributeKeys.trailer, Trailer.create().addHeaders(CollectionConverters.asScala(headers)));
      }
    }
    if (out.entity() instanceof HttpEntity.Chunked chunked) {
      // javadsl cannot make a chunked entity from parts; its entities are the scaladsl ones
      Source<org.apache.pekko.http.scaladsl.model.HttpEntity.ChunkStreamPart, Object> parts = chunked.getChunks().map(GrpcDescriptions::capLast);
      out = out.withEntity(new org.apache.pekko.http.scaladsl.model.HttpEntity.Chunked(((org.apache.pekko.http.scaladsl.model.HttpEntity.Chunked) chunked).contentType(), parts.asScala()));
    }
    return out;
  }

  private static org.apache.pekko.http.scaladsl.model.HttpEntity.ChunkStreamPart capLast(HttpEntity.ChunkStreamPart part) {
    if (!part.isLastChunk()) {
      return (org.apache.pekko.http.scaladsl.model.HttpEntity.ChunkStreamPart) part;
    }
    List<HttpHeader> headers = new ArrayList<>();
    part.getTrailerHeaders().forEach(headers::add);
    return (org.apache.pekko.http.scaladsl.model.HttpEntity.ChunkStreamPart) (capIn(headers) ? HttpEntity.ChunkStreamPart.createLast(part.extension(), headers) : part);
  }

  /** Replaces an over-long description among {@code headers}; whether there was one. */
  private static boolean capIn(List<HttpHeader> headers) {
    for (int i = 0; i < headers.size(); i++) {
      HttpHeader h = headers.get(i);
      if (h.is(NAME) && h.value().length() > MAX) {
        headers.set(i, RawHeader.create(NAME, cut(h.value())));
        return true;
      }
    }
    return false;
  }

  /**
   * The first {@value #MAX} bytes of a percent-encoded description (gRPC's encoding of grpc-message), cut neither
   * inside a %XX escape nor inside a UTF-8 character, and a note of its length.
   */
  static String cut(String encoded) {
    if (encoded.length() <= MAX) {
      return encoded;
    }
    int end = MAX - 64;
    if (encoded.charAt(end - 1) == '%') {
      end -= 1;
    } else if (encoded.charAt(end - 2) == '%') {
      end -= 2;
    }
    int start = end; // where the last character's bytes begin
    int continuations = 0;
    while (start >= 3 && encoded.charAt(start - 3) == '%' && (escaped(encoded, start - 3) & 0xC0) == 0x80) {
      start -= 3;
      continuations++;
    }
    if (start >= 3 && encoded.charAt(start - 3) == '%' && (escaped(encoded, start - 3) & 0xC0) == 0xC0) {
      int first = escaped(encoded, start - 3);
      int length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : 2;
      if (continuations + 1 < length) {
        end = start - 3; // the character is not whole: leave it out
      }
    }
    return encoded.substring(0, end) + String.format(java.util.Locale.ROOT, " ... (description cut: %,d bytes encoded)", encoded.length());
  }

  /** The byte a %XX escape at {@code at} stands for; 0 (neither a first nor a later byte) when it is not one. */
  private static int escaped(String s, int at) {
    try {
      return Integer.parseInt(s.substring(at + 1, at + 3), 16);
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
