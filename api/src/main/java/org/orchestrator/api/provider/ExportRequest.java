package org.orchestrator.api.provider;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A request to export an instance as an image.
 *
 * @param instanceId  the platform's instance id
 * @param imageTag    the image reference to create, e.g. {@code visitors/alice:2026-11-25}
 * @param archiveName a file name (no directories) for a saved archive in the provider's configured
 *                    export folder, or {@code null} to only create the image
 */
public record ExportRequest(String instanceId, String imageTag, String archiveName) {

    private static final Pattern IMAGE_TAG =
        Pattern.compile("[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*){0,3}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?");
    private static final Pattern ARCHIVE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    /**
     * @throws IllegalArgumentException when the tag is not a valid image reference or the archive
     *                                  name contains a path separator or starts with a dot
     */
    public ExportRequest {
        Objects.requireNonNull(instanceId, "instanceId");
        if (imageTag == null || imageTag.length() > 255 || !IMAGE_TAG.matcher(imageTag).matches()) {
            throw new IllegalArgumentException("image tag must look like 'name[/path][:tag]' in lowercase: "
                + org.orchestrator.api.lease.Identifiers.quote(imageTag));
        }
        if (archiveName != null && (!ARCHIVE.matcher(archiveName).matches() || archiveName.contains(".."))) {
            throw new IllegalArgumentException("archive name must be a plain file name of [A-Za-z0-9._-]: "
                + org.orchestrator.api.lease.Identifiers.quote(archiveName));
        }
    }
}
