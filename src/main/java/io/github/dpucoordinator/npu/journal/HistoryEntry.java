package io.github.dpucoordinator.npu.journal;

import io.github.dpucoordinator.common.CborSerializable;

/** One line of a DPU's reboot history: why it went down and how that went. */
public record HistoryEntry(String campaignId, long atMillis, String cause, String reason, String outcome, String detail)
    implements CborSerializable {}
