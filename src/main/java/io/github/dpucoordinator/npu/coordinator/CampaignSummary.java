package io.github.dpucoordinator.npu.coordinator;

import io.github.dpucoordinator.common.CborSerializable;

/** {@code notReady}: DPUs that shut down but were not back in time (a failed DPU counts as failed only). */
public record CampaignSummary(String id, String reason, String kind, long startedAt, long finishedAt, String outcome,
    int dpus, long completed, long failed, long notReady) implements CborSerializable {}
