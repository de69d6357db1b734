package io.github.dpucoordinator.common;

/**
 * Marker for everything the journal stores (events, snapshots); bound to jackson-cbor in
 * application.conf so Java serialization stays off.
 */
public interface CborSerializable {}
